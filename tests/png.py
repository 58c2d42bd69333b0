"""A small, strict PNG reader for the tests: checks every chunk's CRC, inflates the image data,
undoes the row filters and returns pixels, so 'the PNG decodes' means what it says."""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}        # colour type -> samples per pixel (8-bit only)


def decode(data: bytes) -> tuple[int, int, list[list[int]]]:
    """(width, height, rows of grey levels 0-255) for an 8-bit PNG; raises on any defect."""
    assert data[:8] == SIGNATURE, "not a PNG signature"
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        position += 12 + length
    assert header is not None, "no IHDR"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in CHANNELS and interlace == 0, header
    step = CHANNELS[colour]
    raw = zlib.decompress(idat)
    stride = width * step
    assert len(raw) == height * (stride + 1), "image data has the wrong size"
    rows, previous = [], bytearray(stride)
    for r in range(height):
        start = r * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc
                                      else corner)) & 255
            else:
                assert kind == 0, f"unknown filter {kind}"
        previous = line
        colours = min(step, 3)
        rows.append([sum(line[x * step:x * step + colours]) // colours for x in range(width)])
    return width, height, rows


def dark_pixels(rows: list[list[int]], below: int = 128) -> int:
    return sum(1 for row in rows for level in row if level < below)
