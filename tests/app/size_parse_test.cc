#include "app/size_parse.h"

#include <gtest/gtest.h>

namespace nvemu::app {
namespace {

uint64_t Parsed(std::string_view text) {
  auto r = ParseSize(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : ~uint64_t{0};
}

std::string ErrorOf(std::string_view text) {
  auto r = ParseSize(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? *r : 0);
  return r.ok() ? "" : r.error().message;
}

TEST(ParseSize, PlainBytes) {
  EXPECT_EQ(Parsed("0"), 0u);
  EXPECT_EQ(Parsed("4096"), 4096u);
  EXPECT_EQ(Parsed("512B"), 512u);
  EXPECT_EQ(Parsed("18446744073709551615"), UINT64_MAX);
}

TEST(ParseSize, BinaryUnits) {
  EXPECT_EQ(Parsed("1KiB"), 1024u);
  EXPECT_EQ(Parsed("512MiB"), 512ull << 20);
  EXPECT_EQ(Parsed("1GiB"), 1ull << 30);
  EXPECT_EQ(Parsed("4TiB"), 4ull << 40);
  EXPECT_EQ(Parsed("2PiB"), 2ull << 50);
}

TEST(ParseSize, DecimalUnits) {
  EXPECT_EQ(Parsed("1kB"), 1000u);
  EXPECT_EQ(Parsed("1KB"), 1000u);
  EXPECT_EQ(Parsed("3MB"), 3'000'000u);
  EXPECT_EQ(Parsed("1GB"), 1'000'000'000u);
  EXPECT_EQ(Parsed("2TB"), 2'000'000'000'000u);
}

TEST(ParseSize, Whitespace) {
  EXPECT_EQ(Parsed(" 1 GiB "), 1ull << 30);
  EXPECT_EQ(Parsed("64\tKiB"), 64u << 10);
}

TEST(ParseSize, AmbiguousUnitsAreRejected) {
  EXPECT_NE(ErrorOf("1G").find("ambiguous, write GiB (binary) or GB (decimal)"), std::string::npos);
  EXPECT_NE(ErrorOf("4k").find("ambiguous"), std::string::npos);
  EXPECT_NE(ErrorOf("2T").find("ambiguous"), std::string::npos);
}

TEST(ParseSize, UnknownUnitsAndGarbage) {
  EXPECT_NE(ErrorOf("1XB").find("unknown unit 'XB'"), std::string::npos);
  EXPECT_NE(ErrorOf("1gib").find("unknown unit 'gib'"), std::string::npos);  // case matters
  EXPECT_NE(ErrorOf("GiB").find("must start with a non-negative integer"), std::string::npos);
  EXPECT_NE(ErrorOf("").find("must start with"), std::string::npos);
  EXPECT_NE(ErrorOf("-1GiB").find("must start with"), std::string::npos);
  EXPECT_NE(ErrorOf("1.5GiB").find("fractions are not supported"), std::string::npos);
  EXPECT_NE(ErrorOf("1 GiB extra").find("unknown unit"), std::string::npos);
}

TEST(ParseSize, Overflow) {
  EXPECT_NE(ErrorOf("18446744073709551616").find("too large"), std::string::npos);
  EXPECT_NE(ErrorOf("16385PiB").find("too large"), std::string::npos);
  EXPECT_EQ(Parsed("16383PiB"), 16383ull << 50);
}

TEST(FormatSize, PicksTheLargestExactUnit) {
  EXPECT_EQ(FormatSize(0), "0 B");
  EXPECT_EQ(FormatSize(1000), "1000 B");
  EXPECT_EQ(FormatSize(1ull << 30), "1 GiB");
  EXPECT_EQ(FormatSize(3ull << 20), "3 MiB");
  EXPECT_EQ(FormatSize(1536), "1.50 KiB");
}

}  // namespace
}  // namespace nvemu::app
