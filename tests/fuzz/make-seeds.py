#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the binary seeds of the virtq, boot and rpc targets into OUTDIR/NAME/ (meson does, into
the build tree: they are generated, not checked in); the text seeds of corpus/config and
corpus/domain_xml are written by hand. Touches STAMP when done.

    make-seeds.py OUTDIR [STAMP]"""
import os
import struct
import sys

if len(sys.argv) not in (2, 3):
    sys.exit(__doc__)
OUT = sys.argv[1]


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


# ---- virtq: [qsize code][features][start index u16] then guest RAM A (fuzz_virtq.c) ----
NEXT, WRITE, INDIRECT = 1, 2, 4
AVAIL, USED = 0x1000, 0x2000


def ram(size=0x3000):
    return bytearray(size)


def desc(r, table, i, addr, length, flags, nxt=0):
    struct.pack_into('<QIHH', r, table + 16 * i, addr, length, flags, nxt)


def avail(r, idx, ring):
    struct.pack_into('<HH', r, AVAIL, 0, idx)
    for i, head in enumerate(ring):
        struct.pack_into('<H', r, AVAIL + 4 + 2 * i, head)


def virtq(name, qcode, features, start, r):
    put('virtq', name, struct.pack('<BBH', qcode, features, start) + bytes(r))


r = ram()
desc(r, 0, 0, 0x3000, 64, NEXT, 1)
desc(r, 0, 1, 0x3100, 128, WRITE)
avail(r, 1, [0])
virtq('read-write-chain', 3, 0, 0, r)

r = ram()
desc(r, 0, 0, 0x3000, 16, NEXT, 1)
desc(r, 0, 1, 0x3010, 16, NEXT, 0)
avail(r, 1, [0])
virtq('descriptor-loop', 3, 0, 0, r)

r = ram(0x4100)
desc(r, 0, 0, 0x4000, 48, INDIRECT)
desc(r, 0x4000, 0, 0x3000, 32, NEXT, 1)
desc(r, 0x4000, 1, 0x3100, 32, NEXT | WRITE, 2)
desc(r, 0x4000, 2, 0x3200, 32, WRITE)
avail(r, 1, [0])
virtq('indirect-table', 3, 1, 0, r)

r = ram()
desc(r, 0, 0, 0xff00, 0x200, 0)  # runs off RAM A into the hole
avail(r, 1, [0])
virtq('segment-into-hole', 3, 0, 0, r)

r = ram()
desc(r, 0, 0, 0x20010, 32, WRITE)  # region B
desc(r, 0, 1, 0x3000, 8, 0)
avail(r, 2, [0, 1])
virtq('region-b-two-chains', 2, 2, 0, r)

r = ram()
desc(r, 0, 0, 0x3000, 8, 0)
avail(r, 0x0001, [0, 0, 0, 0])  # three entries across the 16-bit wrap (start 0xfffe)
virtq('index-wrap', 2, 0, 0xfffe, r)

r = ram()
desc(r, 0, 0, 0x3000, 8, 0)
avail(r, 40, [0])  # more available than the queue holds
virtq('avail-overrun', 3, 0, 0, r)

r = ram(0x4100)
desc(r, 0, 0, 0x4000, 32, INDIRECT | NEXT, 1)  # INDIRECT with NEXT is not allowed
desc(r, 0x4000, 0, 0x3000, 32, INDIRECT)  # nor an indirect table inside one
avail(r, 1, [0])
virtq('indirect-nested', 3, 1, 0, r)

# ---- boot: kernel files (fuzz_boot.c) ----
def bzimage(payload_len=0x1000, version=0x020f, xload=1):
    setup = bytearray(1024)  # boot sector + one setup sector
    setup[0x1f1] = 1  # setup_sects
    struct.pack_into('<I', setup, 0x1f4, payload_len // 16)  # syssize
    struct.pack_into('<H', setup, 0x1fe, 0xaa55)
    setup[0x200], setup[0x201] = 0xeb, 0x66  # jmp: the header ends at 0x268
    setup[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', setup, 0x206, version)
    setup[0x211] = 0x01  # LOADED_HIGH
    struct.pack_into('<I', setup, 0x230, 0x200000)  # kernel_alignment
    setup[0x234] = 1  # relocatable_kernel
    struct.pack_into('<H', setup, 0x236, xload)  # XLF_KERNEL_64
    struct.pack_into('<I', setup, 0x238, 2047)  # cmdline_size
    struct.pack_into('<Q', setup, 0x258, 0x1000000)  # pref_address
    struct.pack_into('<I', setup, 0x260, 0x400000)  # init_size
    return bytes(setup) + bytes(payload_len)


put('boot', 'bzimage-64bit', bzimage())
put('boot', 'bzimage-protocol-2.09', bzimage(version=0x0209))
put('boot', 'bzimage-no-64bit-entry', bzimage(xload=0))

MB_MAGIC = 0x1badb002


def mb_header(flags, extra=b''):
    return struct.pack('<III', MB_MAGIC, flags, (-(MB_MAGIC + flags)) & 0xffffffff) + extra


CODE = bytes([0xb0, 0x10, 0xe6, 0xf4, 0xf4])  # mov al, 0x10; out 0xf4, al; hlt


def elf32(hdr):
    base, size = 0x100000, 0x100
    img = bytearray(size)
    struct.pack_into('<4sBBBB8xHHIIIIIHHHHHH', img, 0, b'\x7fELF', 1, 1, 1, 0, 2, 3, 1,
                     base + 0x80, 52, 0, 0, 52, 32, 1, 0, 0, 0)
    struct.pack_into('<IIIIIIII', img, 52, 1, 0, base, base, size, size + 0x1000, 7, 0x1000)
    img[0x60:0x60 + len(hdr)] = hdr
    img[0x80:0x80 + len(CODE)] = CODE
    return bytes(img)


put('boot', 'multiboot-elf32', elf32(mb_header(3)))
put('boot', 'multiboot-unknown-required-flag', elf32(mb_header(3 | 0x8000)))
put('boot', 'multiboot-bad-checksum', elf32(struct.pack('<III', MB_MAGIC, 3, 0)))

kludge = bytearray(0x100)
base = 0x100000
kludge[0:32] = mb_header(0x10003, struct.pack('<IIIII', base, base, 0, base + 0x2000, base + 0x40))
kludge[0x40:0x40 + len(CODE)] = CODE
put('boot', 'multiboot-aout-kludge', bytes(kludge))
put('boot', 'not-a-kernel', b'#!/bin/sh\necho this is not a kernel\n')

# ---- rpc: byte streams from a client of coved's socket (fuzz_rpc.c) ----
PROG, VERS, KEEPALIVE = 0x20008086, 1, 0x6b656570


def xstr(s):
    b = s.encode()
    return struct.pack('>I', len(b)) + b + bytes(-len(b) % 4)


def msg(proc, args=b'', serial=1, prog=PROG, typ=0):
    body = struct.pack('>IIIiIi', prog, VERS, proc, typ, serial, 0) + args
    return struct.pack('>I', len(body) + 4) + body


def dom(name):
    return xstr(name) + bytes(16) + struct.pack('>i', -1)


OPEN = msg(1, struct.pack('>I', 1) + xstr('cove:///system') + struct.pack('>I', 0))
put('rpc', 'open-version-list-close', OPEN + msg(4, serial=2) +
    msg(273, struct.pack('>iI', 1, 0), serial=3) + msg(2, serial=4))
XML = ("<domain type='cove'><name>fuzz</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
       "<os><type arch='x86_64'>hvm</type><kernel>/nonexistent/kernel</kernel></os></domain>")
put('rpc', 'define-lookup-xml-undefine', OPEN + msg(11, xstr(XML), serial=2) +
    msg(23, xstr('fuzz'), serial=3) + msg(14, dom('fuzz') + struct.pack('>I', 0), serial=4) +
    msg(35, dom('fuzz'), serial=5))
put('rpc', 'call-before-open', msg(4))
put('rpc', 'keepalive-ping', OPEN + msg(1, prog=KEEPALIVE, typ=2, serial=0))
put('rpc', 'frame-length-too-large', struct.pack('>I', 0x7fffffff) + OPEN[4:])
put('rpc', 'frame-truncated', OPEN[:17])

if len(sys.argv) == 3:
    open(sys.argv[2], 'w').close()
