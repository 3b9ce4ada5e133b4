#!/usr/bin/env python3
"""Writes the seed corpus of tcp_connection_fuzzer into seeds/ (run it after changing the format).

Each seed is: one mode byte (see connection_fuzzer.cc: bits 1:0 = 0 raw, 1 ICReq, 2 ICReq + admin
Connect (+ CC.EN with bit 2), 3 ICReq + I/O Connect to QID 1 + (bits 4:2); bits 7:5 = write chunk
64 << n bytes) followed by host PDUs. Seeds use 512-byte chunks (bits 7:5 = 3)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def ch(t, flags, hlen, pdo, plen):
    return struct.pack('<BBBBI', t, flags, hlen, pdo, plen)


def sqe(opc, cid, nsid=0, cdw10=0, cdw11=0, cdw12=0, sgl_len=0, sgl_id=0x5a, cdw13=0):
    prp2 = sgl_len | (sgl_id << 56)
    return struct.pack('<BBHIIIQQQIIIIII', opc, 0x40, cid, nsid, 0, 0, 0, 0, prp2,
                       cdw10, cdw11, cdw12, cdw13, 0, 0)


def capsule(s, data=b''):
    if data:
        return ch(4, 0, 72, 72, 72 + len(data)) + s + data
    return ch(4, 0, 72, 0, 72) + s


def h2c(cccid, ttag, datao, data, last):
    return ch(6, 4 if last else 0, 24, 24, 24 + len(data)) + struct.pack(
        '<HHIII', cccid, ttag, datao, len(data), 0) + data


def icreq(dgst=0):
    return ch(0, 0, 128, 0, 128) + struct.pack('<HBBI', 0, 0, dgst, 0) + bytes(112)


def rw(opc, cid, slba, nlb, sgl_len, sgl_id=0x5a):
    return sqe(opc, cid, 1, slba, 0, nlb - 1, sgl_len, sgl_id)


SEEDS = {
    'io_read': bytes([3]) + capsule(rw(0x02, 1, 0, 8, 4096)),
    'io_write_in_capsule': bytes([3]) + capsule(rw(0x01, 2, 8, 8, 4096, 0x01), bytes(range(256)) * 16),
    'io_write_r2t': bytes([3]) + capsule(rw(0x01, 3, 0, 24, 12288)) +
    h2c(3, 0, 0, b'\xa5' * 4096, False) + h2c(3, 0, 4096, b'\x5a' * 4096, True) +
    h2c(3, 0, 8192, b'\x3c' * 4096, True),
    'io_flush_disconnect': bytes([3]) + capsule(sqe(0x00, 4, 1)) +
    capsule(sqe(0x7f, 5, 0x08)),
    'admin_commands': bytes([2 | 4]) +
    capsule(sqe(0x06, 1, 0, 1, sgl_len=4096)) +
    capsule(sqe(0x06, 2, 1, 0, sgl_len=4096)) +
    capsule(sqe(0x02, 3, 0xffffffff, 0x02 | (127 << 16), sgl_len=512)) +
    capsule(sqe(0x09, 4, 0, 0x07, 0x00030003)) +
    capsule(sqe(0x0a, 5, 0, 0x0f)) +
    capsule(sqe(0x18, 6)) +
    capsule(sqe(0x7f, 7, 0x04, 1, 0x00, sgl_len=0)) +
    capsule(sqe(0x7f, 8, 0x00, 0, 0x14, 0)),
    'admin_before_enable': bytes([2]) + capsule(sqe(0x06, 1, 0, 1, sgl_len=4096)) +
    capsule(sqe(0x7f, 2, 0x04, 0, 0x1c)),
    'raw_icreq_then_commands': bytes([0]) + icreq() + capsule(sqe(0x06, 1, 0, 1, sgl_len=4096)),
    'raw_icreq_digests': bytes([0]) + icreq(3) + ch(4, 1, 72, 0, 76) + sqe(0x06, 1) + bytes(4),
}

if __name__ == '__main__':
    out = os.path.join(HERE, 'seeds')
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(bytes([data[0] | (3 << 5)]) + data[1:])
    print(f'{len(SEEDS)} seeds in {out}')
