"""Stage 1 (load_image): formats, modes, EXIF, and every kind of bad input the issue lists."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from engine.ocr.load import load_image
from engine.ocr.result import OcrInputError


def _picture(mode="RGB", size=(40, 30)):
    img = Image.new("RGB", size, (255, 255, 255))
    img.paste((200, 0, 0), (0, 0, 20, 10))  # a red block top-left: orientation is checkable
    return img.convert(mode) if mode != "RGB" else img


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF", "WEBP"])
def test_formats_load_as_rgb(tmp_path, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    _picture().save(path, fmt)
    loaded = load_image(path)
    assert loaded.rgb.shape == (30, 40, 3) and loaded.rgb.dtype == np.uint8
    assert loaded.rgb[2, 2, 0] > 150 and loaded.rgb[2, 2, 1] < 80   # red block survives
    assert loaded.rgb[25, 35].min() > 220                          # white elsewhere
    assert loaded.warnings == ()


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "1"])
def test_modes(tmp_path, mode):
    path = tmp_path / "m.png"
    _picture(mode).save(path)
    loaded = load_image(path)
    assert loaded.rgb.shape == (30, 40, 3)
    assert loaded.rgb[25, 35].min() > 200


def test_transparent_pixels_become_white(tmp_path):
    img = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (0, 0, 5, 5))
    path = tmp_path / "t.png"
    img.save(path)
    rgb = load_image(path).rgb
    assert rgb[10, 10].tolist() == [255, 255, 255] and rgb[1, 1].tolist() == [0, 0, 0]


def test_16_bit_grayscale(tmp_path):
    arr = np.full((20, 30), 65535, np.uint16)
    arr[:5, :5] = 0
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    rgb = load_image(path).rgb
    assert rgb[1, 1].tolist() == [0, 0, 0] and rgb[15, 20].tolist() == [255, 255, 255]


def test_exif_orientation_is_applied(tmp_path):
    img = _picture(size=(40, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewers turn it 90° clockwise
    path = tmp_path / "phone.jpg"
    img.save(path, "JPEG", exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.rgb.shape == (40, 30, 3)
    assert loaded.original_size == (30, 40)
    assert loaded.rgb[2, 27, 0] > 150 and loaded.rgb[2, 27, 1] < 100  # red block now top-right


def test_bytes_input(tmp_path):
    buffer = io.BytesIO()
    _picture().save(buffer, "PNG")
    assert load_image(buffer.getvalue()).rgb.shape == (30, 40, 3)


def test_large_image_is_downscaled_with_warning(tmp_path):
    path = tmp_path / "big.png"
    _picture(size=(400, 300)).save(path)
    loaded = load_image(path, max_pixels=30_000)
    assert loaded.rgb.shape[0] * loaded.rgb.shape[1] <= 30_000
    assert loaded.original_size == (400, 300)
    assert 0.3 < loaded.scale < 0.6
    assert any("read at" in w for w in loaded.warnings)


def test_animated_gif_first_frame_with_warning(tmp_path):
    frames = [Image.new("RGB", (20, 20), c) for c in ((0, 0, 0), (255, 255, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = load_image(path)
    assert loaded.rgb.max() < 30  # the first (black) frame
    assert any("2 frames" in w for w in loaded.warnings)


def _png_header_only(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("name,content,message", [
    ("empty.png", b"", "empty"),
    ("notes.png", "这不是图片，只是文字。\n".encode() * 20, "not an image"),
    ("cut.png", None, "damaged or truncated"),
    ("huge.png", _png_header_only(20000, 20000), "20000×20000"),
    ("dot.png", "tiny", "too small"),
])
def test_bad_inputs_are_refused_clearly(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        buffer = io.BytesIO()
        Image.fromarray((np.random.default_rng(0).random((60, 60)) * 255).astype(np.uint8)).save(buffer, "PNG")
        path.write_bytes(buffer.getvalue()[:300])
    elif content == "tiny":
        Image.new("RGB", (1, 1), (0, 0, 0)).save(path)
    else:
        path.write_bytes(content)
    with pytest.raises(OcrInputError, match=message):
        load_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(OcrInputError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(OcrInputError, match="folder"):
        load_image(tmp_path)
