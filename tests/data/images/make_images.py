#!/usr/bin/python3
"""Regenerates the small test images in this folder (run from the repository root with Debian's
/usr/bin/python3 + python3-pil 9.4 + python3-numpy; cjpeg from libjpeg-turbo-progs 2.1.5; gzip).

Synthetic files (p_*.png, b_*.bmp, n_*.p?m) hold samples given by a formula that tests/test_image.c
recomputes independently:
    h(x, y, c) = ((x*7919 + y*104729 + c*31337 + 12345) * 2654435761) mod 2^32
    sample at depth d = h >> (32 - d)
They are written by the small writers below (not by the C code under test) and every one is checked
here against Pillow's decoding before it is kept. JPEG files (j_*.jpg) are Pillow/cjpeg encodings of a
101x67 crop (x 200..300, y 180..246) of /work/shared/data/histopathology/ihc_colon_512.png."""
import os, struct, subprocess, zlib
import numpy as np
from PIL import Image

OUT = 'tests/data/images'
SRC = '/work/shared/data/histopathology/ihc_colon_512.png'


def h(x, y, c):
    return ((x * 7919 + y * 104729 + c * 31337 + 12345) * 2654435761) & 0xffffffff


def samp(x, y, c, d):
    return h(x, y, c) >> (32 - d)


def formula(w, hh, nc, d):
    return np.array([[[samp(x, y, c, d) for c in range(nc)] for x in range(w)] for y in range(hh)], dtype=np.int64)


# ---- PNG writer (filters cycle 0,1,2,3,4 row after row so every filter type is exercised) ----
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def pack(samples, d):
    if d == 8:
        return bytes(int(s) for s in samples)
    if d == 16:
        return b''.join(struct.pack('>H', int(s)) for s in samples)
    bits = ''.join(format(int(s), '0%db' % d) for s in samples)
    bits += '0' * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filt(ft, row, prev, bpp):
    out = bytearray()
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev is not None else 0
        c = prev[i - bpp] if prev is not None and i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]
        out.append((row[i] - pred) & 255)
    return bytes(out)


def chunk(t, body):
    return struct.pack('>I', len(body)) + t + body + struct.pack('>I', zlib.crc32(t + body) & 0xffffffff)


def write_png(name, arr, ctype, d, plte=None, trns=None, interlace=False, idat_split=0):
    hh, w, nc = arr.shape
    bpp = max(1, nc * d // 8)
    raw, k = bytearray(), 0
    for (x0, y0, dx, dy) in (ADAM7 if interlace else [(0, 0, 1, 1)]):
        xs, ys = range(x0, w, dx), range(y0, hh, dy)
        if not len(xs) or not len(ys):
            continue
        prev = None
        for y in ys:
            row = pack([arr[y, x, c] for x in xs for c in range(nc)], d)
            ft = k % 5
            k += 1
            raw += bytes([ft]) + filt(ft, row, prev, bpp)
            prev = row
    z = zlib.compress(bytes(raw), 9)
    out = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, hh, d, ctype, 0, 0, 1 if interlace else 0))
    if plte is not None:
        out += chunk(b'PLTE', bytes(v for e in plte for v in e))
    if trns is not None:
        out += chunk(b'tRNS', trns)
    out += chunk(b'tEXt', b'Comment\x00ancillary chunk to skip')
    step = idat_split or len(z)
    for i in range(0, len(z), step):
        out += chunk(b'IDAT', z[i:i + step])
    out += chunk(b'IEND', b'')
    open(os.path.join(OUT, name), 'wb').write(out)


def pillow_raw(name):
    """Pillow's decoding of a PNG at full precision (palette indices for P, 16-bit values for I;16)."""
    im = Image.open(os.path.join(OUT, name))
    im.load()
    return im, np.asarray(im)


def make_pngs():
    W, H = 19, 13
    pal = [((i * 37 + 11) & 255, (i * 91 + 7) & 255, (i * 53 + 200) & 255) for i in range(256)]
    # grey 1, 2, 4 (Adam7), 8 with tRNS key, 16
    for d, il in ((1, False), (2, False), (4, True)):
        a = formula(W, H, 1, d)
        name = 'p_g%d%s.png' % (d, '_adam7' if il else '')
        write_png(name, a, 0, d, interlace=il)
        im, got = pillow_raw(name)
        scale = {1: 255, 2: 85, 4: 17}[d]
        assert (np.asarray(im.convert('L')).astype(int) == a[..., 0] * scale).all(), name
    a = formula(W, H, 1, 8)
    write_png('p_g8_trns.png', a, 0, 8, trns=struct.pack('>H', int(a[2, 3, 0])))
    im, got = pillow_raw('p_g8_trns.png')
    assert (got == a[..., 0]).all() and im.info['transparency'] == a[2, 3, 0]
    a = formula(W, H, 1, 16)
    write_png('p_g16.png', a, 0, 16, idat_split=37)
    im, got = pillow_raw('p_g16.png')
    assert im.mode in ('I', 'I;16') and (got.astype(np.int64) == a[..., 0]).all()
    # grey+alpha 8, 16 (Adam7)
    a = formula(W, H, 2, 8)
    write_png('p_ga8.png', a, 4, 8)
    im, got = pillow_raw('p_ga8.png')
    assert im.mode == 'LA' and (got == a).all()
    a = formula(W, H, 2, 16)
    write_png('p_ga16_adam7.png', a, 4, 16, interlace=True)
    # RGB 8 (Adam7, IDAT split into 50-byte chunks), RGB 16 with tRNS key, RGBA 8, RGBA 16 (Adam7)
    a = formula(W, H, 3, 8)
    write_png('p_rgb8_adam7.png', a, 2, 8, interlace=True, idat_split=50)
    im, got = pillow_raw('p_rgb8_adam7.png')
    assert im.mode == 'RGB' and (got == a).all()
    a = formula(W, H, 3, 16)
    a[5, 7] = a[1, 2]   # a second pixel with the key colour
    write_png('p_rgb16_trns.png', a, 2, 16, trns=struct.pack('>HHH', *[int(v) for v in a[1, 2]]))
    im, got = pillow_raw('p_rgb16_trns.png')   # Pillow keeps the high byte of 16-bit RGB
    assert (got[..., :3].astype(np.int64) == (a >> 8)).all()
    a = formula(W, H, 4, 8)
    write_png('p_rgba8.png', a, 6, 8)
    im, got = pillow_raw('p_rgba8.png')
    assert im.mode == 'RGBA' and (got == a).all()
    a = formula(W, H, 4, 16)
    write_png('p_rgba16_adam7.png', a, 6, 16, interlace=True)
    im, got = pillow_raw('p_rgba16_adam7.png')
    assert (got.astype(np.int64) == (a >> 8)).all()
    # palette 1, 2, 4 (Adam7), 8 with tRNS alphas for the first 200 entries
    for d, il in ((1, False), (2, False), (4, True), (8, False)):
        a = formula(W, H, 1, d)
        name = 'p_pal%d%s.png' % (d, '_adam7' if il else '')
        trns = bytes((i * 29) & 255 for i in range(200)) if d == 8 else None
        write_png(name, a, 3, d, plte=pal[:1 << d], trns=trns, interlace=il)
        im, got = pillow_raw(name)
        assert im.mode == 'P' and (got == a[..., 0]).all(), name


# ---- BMP writer ----
def write_bmp(name, w, hh, bpp, rowdata, hsize=40, comp=0, masks=None, palette=None, topdown=False):
    stride = (w * bpp + 31) // 32 * 4
    pix = b''.join(r + b'\0' * (stride - len(r)) for r in (rowdata if topdown else rowdata[::-1]))
    pal = b''.join(bytes((b, g, r, 0)) for (r, g, b) in palette) if palette else b''
    dib = struct.pack('<IiiHHIIiiII', hsize, w, -hh if topdown else hh, 1, bpp, comp, len(pix), 2835, 2835,
                      len(palette) if palette else 0, 0)
    extra = b''
    if hsize > 40:
        m = (masks or [0, 0, 0, 0]) + [0] * 4
        dib += struct.pack('<IIII', *m[:4])
        dib += b'\0' * (hsize - len(dib))   # colour space, endpoints, gamma (V4), intent/profile (V5)
        if hsize >= 108:
            dib = dib[:56] + b'BGRs' + dib[60:]
    elif comp == 3:
        extra = struct.pack('<III', *masks[:3])
    off = 14 + len(dib) + len(extra) + len(pal)
    data = b'BM' + struct.pack('<IHHI', off + len(pix), 0, 0, off) + dib + extra + pal + pix
    open(os.path.join(OUT, name), 'wb').write(data)


def make_bmps():
    W, H = 13, 7
    pal16 = [((i * 37 + 11) & 255, (i * 91 + 7) & 255, (i * 53 + 200) & 255) for i in range(16)]
    a = formula(W, H, 1, 4)
    write_bmp('b_pal4.bmp', W, H, 4, [pack(a[y, :, 0], 4) for y in range(H)], palette=pal16)
    a = formula(W, H, 1, 1)
    write_bmp('b_pal1_topdown.bmp', W, H, 1, [pack(a[y, :, 0], 1) for y in range(H)],
              palette=[(0, 0, 0), (255, 255, 255)], topdown=True)
    a = formula(W, H, 3, 8)   # 24-bit, BGR byte order
    write_bmp('b_rgb24.bmp', W, H, 24, [bytes(int(a[y, x, 2 - c]) for x in range(W) for c in range(3)) for y in range(H)])
    a = formula(W, H, 3, 5)   # 16-bit 5-6-5 bit fields in a V5 header, top-down (G uses 6 bits: formula at depth 6)
    g6 = formula(W, H, 3, 6)
    rows = [b''.join(struct.pack('<H', int(a[y, x, 0]) << 11 | int(g6[y, x, 1]) << 5 | int(a[y, x, 2])) for x in range(W))
            for y in range(H)]
    write_bmp('b_565_v5.bmp', W, H, 16, rows, hsize=124, comp=3, masks=[0xf800, 0x07e0, 0x001f, 0], topdown=True)
    a = formula(W, H, 4, 8)   # 32-bit BGRA with an alpha mask in a V4 header
    rows = [bytes(int(a[y, x, c]) for x in range(W) for c in (2, 1, 0, 3)) for y in range(H)]
    write_bmp('b_bgra32_v4.bmp', W, H, 32, rows, hsize=108, comp=3, masks=[0xff0000, 0xff00, 0xff, 0xff000000])
    for name in ('b_pal4.bmp', 'b_pal1_topdown.bmp', 'b_rgb24.bmp', 'b_bgra32_v4.bmp', 'b_565_v5.bmp'):
        Image.open(os.path.join(OUT, name)).load()
    assert (np.asarray(Image.open(os.path.join(OUT, 'b_rgb24.bmp'))) == formula(W, H, 3, 8)).all()
    assert (np.asarray(Image.open(os.path.join(OUT, 'b_bgra32_v4.bmp'))) == formula(W, H, 4, 8)).all()
    pi = Image.open(os.path.join(OUT, 'b_pal4.bmp'))
    assert (np.asarray(pi) == formula(W, H, 1, 4)[..., 0]).all()
    src = Image.open(SRC).convert('RGB').crop((200, 180, 301, 247))
    src.convert('L').save(os.path.join(OUT, 'b_colon_grey8.bmp'))   # 8-bit with a grey palette


def make_pnms():
    W, H = 11, 5
    a = formula(W, H, 1, 8)
    open(os.path.join(OUT, 'n_p2.pgm'), 'w').write(
        'P2\n# ASCII grey, maxval 255\n%d %d\n255\n' % (W, H) + '\n'.join(' '.join(str(int(v)) for v in a[y, :, 0]) for y in range(H)) + '\n')
    a = formula(W, H, 3, 16) % 1001
    open(os.path.join(OUT, 'n_p3_1000.ppm'), 'w').write(
        'P3 %d # comment inside the header\n%d 1000\n' % (W, H) + '\n'.join(' '.join(str(int(v)) for v in a[y].ravel()) for y in range(H)) + '\n')
    a = formula(W, H, 1, 16)
    open(os.path.join(OUT, 'n_p5_16.pgm'), 'wb').write(b'P5\n%d %d\n65535\n' % (W, H) + b''.join(struct.pack('>H', int(v)) for v in a.ravel()))
    a = formula(W, H, 3, 8) % 101
    open(os.path.join(OUT, 'n_p6_100.ppm'), 'wb').write(b'P6 %d %d 100\n' % (W, H) + bytes(int(v) for v in a.ravel()))
    im = Image.open(os.path.join(OUT, 'n_p2.pgm'))
    assert (np.asarray(im) == formula(W, H, 1, 8)[..., 0]).all()
    im = Image.open(os.path.join(OUT, 'n_p5_16.pgm'))
    assert (np.asarray(im).astype(np.int64) == formula(W, H, 1, 16)[..., 0]).all()


def make_jpegs():
    src = Image.open(SRC).convert('RGB').crop((200, 180, 301, 247))
    src.save(os.path.join(OUT, 'src.ppm'))
    src.convert('L').save(os.path.join(OUT, 'srcg.pgm'))
    o = lambda n: os.path.join(OUT, n)
    src.save(o('j_420.jpg'), quality=85, subsampling=2)
    src.save(o('j_422.jpg'), quality=90, subsampling=1)
    src.save(o('j_444_prog.jpg'), quality=90, subsampling=0, progressive=True)
    src.save(o('j_420_prog.jpg'), quality=75, subsampling=2, progressive=True)
    src.convert('L').save(o('j_grey.jpg'), quality=90)
    src.convert('L').save(o('j_grey_prog.jpg'), quality=90, progressive=True)
    run = lambda *a: subprocess.run(['cjpeg'] + list(a), check=True, stderr=subprocess.DEVNULL)
    run('-quality', '85', '-sample', '1x2,1x1,1x1', '-restart', '2B', '-outfile', o('j_12_rst.jpg'), o('src.ppm'))
    run('-quality', '80', '-sample', '2x2,1x1,1x1', '-restart', '1', '-progressive', '-outfile', o('j_420_prog_rst.jpg'), o('src.ppm'))
    run('-quality', '90', '-rgb', '-outfile', o('j_rgb.jpg'), o('src.ppm'))
    run('-quality', '5', '-outfile', o('j_q16.jpg'), o('src.ppm'))
    run('-arithmetic', '-outfile', o('j_arith.jpg'), o('src.ppm'))
    os.remove(o('src.ppm'))
    os.remove(o('srcg.pgm'))


def make_gzip():
    raw = open('/work/shared/fixtures/images/img-small-300x200.ppm', 'rb').read()
    a = subprocess.run(['gzip', '-9', '-n', '-c', '/work/shared/fixtures/images/img-small-300x200.ppm'], check=True, stdout=subprocess.PIPE).stdout
    b = subprocess.run(['gzip', '-1', '-n', '-c', os.path.join(OUT, 'n_p3_1000.ppm')], check=True, stdout=subprocess.PIPE).stdout
    c = subprocess.run(['gzip', '-9', '-c', os.path.join(OUT, 'n_p2.pgm')], check=True, stdout=subprocess.PIPE).stdout
    open(os.path.join(OUT, 'img-small-300x200.ppm.gz'), 'wb').write(a)
    open(os.path.join(OUT, 'two-members.gz'), 'wb').write(b + c)   # n_p3_1000.ppm, then n_p2.pgm (with FNAME)
    assert zlib.decompress(a, 31) == raw


if __name__ == '__main__':
    make_pngs()
    make_bmps()
    make_pnms()
    make_jpegs()
    make_gzip()
