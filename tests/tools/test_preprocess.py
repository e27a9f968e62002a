#!/usr/bin/python3
"""pfrt-run's image decoding and preprocessing against an independent reference, for CTest.

  test_preprocess.py WORK_DIR DUMP_COMMAND...

Writes images of several kinds and sizes with PIL into WORK_DIR (gray, gray+alpha, RGB, RGBA,
palette and 1-bit PNGs, 16-bit PNGs; JPEGs: gray, colour 4:2:0 and 4:4:4, progressive; binary
PGM/PPM, also with maximum values other than 255 and a comment in the header), has pfrt decode and preprocess them (DUMP_COMMAND: the
pfrt_preprocess_dump test program, which calls the tools library's load_image and model_input,
as pfrt-run does) for a 28x28x1 and a 16x16x3 model with every --resize mode, and compares:

1. Decoding: pfrt's pixels with PIL's, exactly (JPEG too: both decode through libjpeg-turbo
   with its default accurate IDCT and smooth upsampling). 16-bit samples are scaled to 8 bits with
   rounding, round(v * 255 / maxval); where PIL has already rescaled a 16-bit PGM to 0..65535
   (maximum value other than 65535) the reference rounds twice, so 1 level is allowed there.
2. Preprocessing: pfrt's float tensor with a reference pipeline built from PIL's pixels:
   alpha dropped; RGB -> gray by the documented BT.601 luma (299 R + 587 G + 114 B) / 1000,
   rounded half up; gray -> RGB by repeating; resize to the model's size with PyTorch's
   F.interpolate(mode="bilinear", align_corners=False) (half-pixel centres), or with an exact
   fractional-overlap box filter ("area", written out here as two weight matrices; checked
   against PyTorch's mode="area" where the factor is an integer, the only case where that
   adaptive average pool is the same filter); `auto` takes area when neither side grows, else
   bilinear; then, as pfrt does, rounding to 8 bits (half up), and (pixel / 255 - mean) / std.
   Tolerance: 1e-5 absolute (float32 rounding of the normalisation; one 8-bit level is
   1 / (255 std) >= 0.017 here), except that a resized value within 1e-6 of a half level may
   round either way (counted and printed). Also against the same pipeline without the
   roundings to 8 bits (what a float PyTorch pipeline gives): within 0.5 level per rounding.

Exits 77 (CTest: skipped) when PIL or PyTorch is missing.
"""
import os
import shutil
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
except ImportError as e:
    print(f"test_preprocess.py: skipped: {e.name} is not installed "
          f"(apt-get install python3-numpy python3-torch python3-pil)")
    sys.exit(77)

MODELS = [  # (size, mean, std): Fashion-MNIST's gray input, and an RGB one (ImageNet's values)
    (28, [0.5], [0.2]),
    (16, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
]
SIZES = {  # (width, height): same size, integer and non-integer shrinking and growing, mixed
    28: [(28, 28), (56, 56), (84, 28), (100, 100), (45, 37), (40, 20), (14, 14), (20, 17), (3, 5), (1, 1)],
    16: [(16, 16), (32, 48), (50, 50), (8, 8), (13, 11), (64, 10), (1, 2)],
}
KINDS = ["gray.png", "gray-alpha.png", "rgb.png", "rgba.png", "palette.png", "palette-trns.png", "1bit.png",
         "gray16.png", "gray.pgm", "rgb.ppm", "maxval127.pgm", "maxval127.ppm", "gray16.pgm", "maxval1000.pgm",
         "comment.pgm", "gray.jpg", "rgb.jpg", "rgb444.jpg", "progressive.jpg"]
ATOL = 1e-5
HALF_WINDOW = 1e-6
area_vs_torch = 0  # area resizes that were also checked against torch's mode="area"


def content(rng, w, h, c, top=255):
    """A smooth pattern plus noise, clipped at both ends, so that resizing has something to do."""
    y, x = np.mgrid[0:h, 0:w]
    out = np.empty((h, w, c), dtype=np.float64)
    for k in range(c):
        phase = rng.uniform(0, 6.3)
        wave = 0.5 + 0.6 * np.sin(x * rng.uniform(0.2, 1.1) + y * rng.uniform(0.2, 1.1) + phase)
        out[:, :, k] = top * wave + rng.uniform(-0.15, 0.15, size=(h, w)) * top
    return np.clip(np.rint(out), 0, top)


def pnm_bytes(magic, pixels, maxval, comment=False):
    h, w, c = pixels.shape
    header = f"{magic}\n" + ("# written by test_preprocess.py\n" if comment else "") + f"{w} {h}\n{maxval}\n"
    dtype = ">u2" if maxval > 255 else "u1"
    return header.encode() + pixels.astype(dtype).tobytes()


def write_image(path, kind, w, h, rng):
    if kind == "gray.png":
        Image.fromarray(content(rng, w, h, 1)[:, :, 0].astype(np.uint8), "L").save(path)
    elif kind == "gray-alpha.png":
        Image.fromarray(content(rng, w, h, 2).astype(np.uint8), "LA").save(path)
    elif kind == "rgb.png":
        Image.fromarray(content(rng, w, h, 3).astype(np.uint8), "RGB").save(path)
    elif kind == "rgba.png":
        Image.fromarray(content(rng, w, h, 4).astype(np.uint8), "RGBA").save(path)
    elif kind in ("palette.png", "palette-trns.png"):
        rgb = Image.fromarray(content(rng, w, h, 3).astype(np.uint8), "RGB")
        pal = rgb.quantize(colors=48)
        if kind == "palette-trns.png":
            pal.save(path, transparency=3)
        else:
            pal.save(path)
    elif kind == "1bit.png":
        Image.fromarray(content(rng, w, h, 1)[:, :, 0] > 127).convert("1").save(path)
    elif kind == "gray16.png":
        Image.fromarray(content(rng, w, h, 1, 65535)[:, :, 0].astype(np.uint16), "I;16").save(path)
    elif kind.endswith(".jpg"):
        mode, c = ("L", 1) if kind == "gray.jpg" else ("RGB", 3)
        pixels = content(rng, w, h, c).astype(np.uint8)
        im = Image.fromarray(pixels[:, :, 0] if c == 1 else pixels, mode)
        im.save(path, quality=85, subsampling=0 if kind == "rgb444.jpg" else 2, progressive=kind == "progressive.jpg")
    elif kind == "gray.pgm":
        Image.fromarray(content(rng, w, h, 1)[:, :, 0].astype(np.uint8), "L").save(path)
    elif kind == "rgb.ppm":
        Image.fromarray(content(rng, w, h, 3).astype(np.uint8), "RGB").save(path)
    else:  # PGM/PPM that PIL does not write: maximum values other than 255, a header comment
        maxval = {"maxval127.pgm": 127, "maxval127.ppm": 127, "gray16.pgm": 65535, "maxval1000.pgm": 1000,
                  "comment.pgm": 255}[kind]
        c = 3 if kind.endswith(".ppm") else 1
        with open(path, "wb") as f:
            f.write(pnm_bytes("P6" if c == 3 else "P5", content(rng, w, h, c, maxval), maxval,
                              comment=kind == "comment.pgm"))


def pil_pixels(path):
    """PIL's decoding, as 8-bit height x width x channels (channels as the file has them), and
    the tolerance in levels that the reference's own rounding needs."""
    im = Image.open(path)
    im.load()
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    if im.mode in ("I", "I;16", "I;16B"):  # 16-bit: PIL's values are 0..65535
        v = np.asarray(im).astype(np.int64)
        pnm_rescaled = path.endswith(".pgm") and b"\n65535\n" not in open(path, "rb").read(64)
        return ((v * 255 + 32767) // 65535).astype(np.uint8)[:, :, None], 1 if pnm_rescaled else 0
    a = np.asarray(im)
    if a.ndim == 2:
        a = a[:, :, None]
    assert im.mode in ("L", "LA", "RGB", "RGBA"), im.mode
    return a.copy(), 0


def to_channels(u8, channels):
    """pfrt's documented channel conversion: alpha dropped, BT.601 luma rounded, gray repeated."""
    colour = u8[:, :, :3] if u8.shape[2] >= 3 else u8[:, :, :1]
    if colour.shape[2] == channels:
        return colour.astype(np.float64)
    if channels == 1:
        rgb = colour.astype(np.int64)
        return ((299 * rgb[:, :, 0] + 587 * rgb[:, :, 1] + 114 * rgb[:, :, 2] + 500) // 1000)[:, :, None].astype(np.float64)
    return np.repeat(colour, 3, axis=2).astype(np.float64)


def area_matrix(n_in, n_out):
    """[n_out, n_in]: the part of output pixel o's span [o s, (o+1) s) (s = n_in / n_out) that
    input pixel i covers, divided by s."""
    s = n_in / n_out
    lo = np.arange(n_out)[:, None] * s
    i = np.arange(n_in)[None, :]
    return np.clip(np.minimum(lo + s, i + 1) - np.maximum(lo, i), 0, None) / s


def resize(hwc, size, mode):
    """float64 height x width x channels -> size x size x channels (unrounded)."""
    h, w, _ = hwc.shape
    if (w, h) == (size, size):
        return hwc
    if mode == "auto":
        mode = "area" if w >= size and h >= size else "bilinear"
    x = torch.from_numpy(np.ascontiguousarray(hwc.transpose(2, 0, 1)))[None]  # [1, C, H, W] float64
    if mode == "bilinear":
        y = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)[0].numpy()
    else:
        y = area_matrix(h, size) @ x[0].numpy() @ area_matrix(w, size).T
        if (h % size == 0 or size % h == 0) and (w % size == 0 or size % w == 0):
            torch_area = F.interpolate(x, size=(size, size), mode="area")[0].numpy()
            err = np.abs(torch_area - y).max()
            assert err < 1e-9, f"the area reference differs from torch's area mode by {err} at {w}x{h} -> {size}"
            global area_vs_torch
            area_vs_torch += 1
    return y.transpose(1, 2, 0)


def round_u8(v):
    return np.clip(np.floor(v + 0.5), 0, 255)


def normalise(hwc, mean, std):
    return (hwc.transpose(2, 0, 1) / 255.0 - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    work, dump = sys.argv[1], sys.argv[2:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rng = np.random.default_rng(20240611)
    failures = []
    checked = ties = 0
    luma_vs_pil = [0, 0]  # pixels where PIL's own convert("L") differs by 1 level, pixels compared
    for size, mean, std in MODELS:
        images, decoded = [], {}
        for kind in KINDS:
            for w, h in SIZES[size]:
                path = os.path.join(work, f"s{size}-{w}x{h}-{kind}")
                write_image(path, kind, w, h, rng)
                images.append(path)
                decoded[path] = pil_pixels(path)
        for mode in ("auto", "bilinear", "area"):
            out = os.path.join(work, f"s{size}-{mode}")
            cmd = dump + [out, str(size), ",".join(map(str, mean)), ",".join(map(str, std)), mode] + images
            run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if run.returncode != 0:
                print(f"FAIL: {' '.join(cmd[:6])} ... exited with {run.returncode}:\n{run.stderr}")
                return 1
            lines = run.stdout.splitlines()
            assert len(lines) == len(images), run.stdout
            all_pixels = np.fromfile(out + ".u8", dtype=np.uint8)
            all_inputs = np.fromfile(out + ".f32", dtype="<f4").astype(np.float64)
            tensor = len(mean) * size * size
            for k, (path, line) in enumerate(zip(images, lines)):
                name = os.path.basename(path)
                fields = line.split(" ", 2)
                if fields[1] == "error":
                    failures.append(f"{name}: pfrt refused it: {fields[2]}")
                    continue
                w, h, c = map(int, line.split()[1:])
                ref_u8, decode_tol = decoded[path]
                mine, all_pixels = all_pixels[:w * h * c], all_pixels[w * h * c:]
                got, all_inputs = all_inputs[:tensor], all_inputs[tensor:]
                if (h, w, c) != ref_u8.shape or mine.size != ref_u8.size:
                    failures.append(f"{name}: pfrt decodes {w}x{h}x{c}, PIL {ref_u8.shape[1]}x{ref_u8.shape[0]}"
                                    f"x{ref_u8.shape[2]}")
                    continue
                mine = mine.reshape(h, w, c)
                diff = np.abs(mine.astype(np.int64) - ref_u8.astype(np.int64))
                if diff.max() > decode_tol:
                    y, x, ch = np.unravel_index(diff.argmax(), diff.shape)
                    failures.append(f"{name}: decoded pixel ({x},{y}) channel {ch} is {mine[y, x, ch]}, "
                                    f"PIL {ref_u8[y, x, ch]} ({int((diff > decode_tol).sum())} pixels differ)")
                    continue
                # With a tolerant decode the reference starts from pfrt's (checked) pixels.
                source = mine if decode_tol else ref_u8
                if mode == "auto" and size == 28 and source.shape[2] >= 3:
                    pil_l = np.asarray(Image.fromarray(np.ascontiguousarray(source[:, :, :3]), "RGB").convert("L"))
                    d = np.abs(pil_l.astype(np.int64) - to_channels(source, 1)[:, :, 0]).max(initial=0)
                    assert d <= 1, f"{name}: PIL's luma differs from BT.601 by {d}"
                    luma_vs_pil[0] += int((pil_l != to_channels(source, 1)[:, :, 0]).sum())
                    luma_vs_pil[1] += pil_l.size
                gray_or_rgb = to_channels(source, len(mean))
                resized = resize(gray_or_rgb, size, mode)
                want = normalise(round_u8(resized), mean, std)
                if got.size != want.size:
                    failures.append(f"{name} ({mode}): pfrt's tensor has {got.size} values, expected {want.size}")
                    continue
                got = got.reshape(want.shape)
                err = np.abs(got - want)
                frac = resized - np.floor(resized)
                tie = (np.abs(frac - 0.5) < HALF_WINDOW).transpose(2, 0, 1)
                tie_ok = tie & (np.abs(np.abs(got - want) - 1 / (255 * np.array(std)[:, None, None])) < ATOL)
                bad = (err > ATOL) & ~tie_ok
                ties += int(tie_ok.sum())
                checked += want.size
                if bad.any():
                    ch, y, x = np.unravel_index(np.where(bad, err, 0).argmax(), bad.shape)
                    failures.append(f"{name} ({mode}, {w}x{h} -> {size}x{size}): value ({x},{y}) channel {ch} is "
                                    f"{got[ch, y, x]:.6f}, reference {want[ch, y, x]:.6f} (resized pixel "
                                    f"{resized[y, x, ch]:.4f}; {int(bad.sum())} of {bad.size} values differ)")
                    continue
                # Against a float pipeline: each rounding to 8 bits moves a value by half a level at most.
                luma = len(mean) == 1 and source.shape[2] >= 3  # pfrt rounds the luma to 8 bits too
                roundings = 2 if luma else 1
                float_src = (source[:, :, :3] @ np.array([0.299, 0.587, 0.114]))[:, :, None] if luma else gray_or_rgb
                loose = normalise(resize(float_src, size, mode), mean, std)
                limit = roundings * 0.5 / (255 * np.array(std)[:, None, None]) + ATOL
                if (np.abs(got - loose) > limit).any():
                    failures.append(f"{name} ({mode}): off a float pipeline by more than {roundings} x half a level: "
                                    f"{np.abs(got - loose).max():.6f}")
    for f in failures:
        print("FAIL:", f)
    print(f"{checked} values of {len(KINDS)} kinds x {sum(map(len, SIZES.values()))} sizes x 3 resize modes compared "
          f"(tolerance {ATOL}); {ties} resized values within {HALF_WINDOW} of a half level accepted either way; "
          f"{area_vs_torch} area resizes also checked against torch's mode='area'; PIL's convert('L') differs "
          f"from exact BT.601 rounding by one level on {luma_vs_pil[0]} of {luma_vs_pil[1]} pixels")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
