// nvemu: the command-line front of the NVMe controller emulator (see docs/cli.md).
#include <iostream>

#include "app/cli.h"

int main(int argc, char** argv) { return nvemu::app::RunCli(argc, argv, std::cout, std::cerr); }
