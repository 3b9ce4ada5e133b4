#!/usr/bin/env python3
"""Writes the seed programs of tests/pcie/fuzz/pcie_fuzzer.cc into seeds/ (see its header for the
operation encoding). Run from anywhere; the seeds are committed, re-run after changing the format."""
import os
import struct

HOST = 0x1000_0000
DATA = HOST + 0x4000  # a data buffer inside the fuzzer's host memory

def enable():
    return b"\x05"

def wait():
    return b"\x09"

def sqe(opc, nsid=0, prp1=0, prp2=0, cdw10=0, cdw11=0, cdw12=0, cid=0):
    s = struct.pack("<BBHI", opc, 0, cid, nsid) + b"\0" * 16
    s += struct.pack("<QQ", prp1, prp2)
    s += struct.pack("<IIIIII", cdw10, cdw11, cdw12, 0, 0, 0)
    assert len(s) == 64
    return s

def admin(**kw):
    return b"\x06" + sqe(**kw)

def io(**kw):
    return b"\x08" + sqe(**kw)

def mmio_write(off, size_sel, value):
    return b"\x00" + struct.pack("<HBQ", off, size_sel, value)

def doorbell(index, value):
    return b"\x02" + struct.pack("<BH", index, value)

seeds = {
    "identify": enable() + admin(opc=0x06, prp1=DATA, cdw10=1, cid=1) + admin(
        opc=0x06, nsid=1, prp1=DATA, cdw10=0, cid=2) + wait(),
    "io_write_read": enable() + b"\x07" + wait() + io(opc=0x01, nsid=1, prp1=DATA, cdw12=7, cid=3)
    + io(opc=0x02, nsid=1, prp1=DATA, cdw12=7, cid=4) + wait(),
    "log_pages": enable() + admin(opc=0x02, nsid=0xffffffff, prp1=DATA, cdw10=0x02 | (127 << 16))
    + admin(opc=0x02, prp1=DATA, cdw10=0x01 | (15 << 16)) + wait(),
    "features_aer": enable() + admin(opc=0x0c, cid=9) + admin(opc=0x09, cdw10=0x07, cdw11=0x00030003)
    + doorbell(7, 3) + wait(),
    "reset_shutdown": enable() + mmio_write(0x14, 2, 0x00464001) + wait()
    + mmio_write(0x14, 2, 0) + enable() + mmio_write(0x14, 2, 0x00460000 | (1 << 14)) + wait(),
    "doorbells": enable() + b"\x07" + wait() + doorbell(2, 15) + doorbell(3, 5) + doorbell(0, 16)
    + doorbell(1, 0) + wait(),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {out}")
