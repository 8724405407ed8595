// Images from outside the datasets, made to look like MNIST's so a trained model can classify
// them: `train_mnist_gpu predict` reads a user's picture of a digit through load_image_as_mnist.
//
// MNIST's digits (LeCun et al.) are NIST's binary scans, each cropped to its ink, scaled to fit a
// 20x20 box with anti-aliasing, and placed in a 28x28 field with its centre of mass at the centre.
// mnist_style repeats those steps on any grayscale picture, after making it light-on-dark.
//
// A fault in a file throws DataError (runtime/data/idx.h), one line: "<path>: <fault>".
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "runtime/data/idx.h"  // DataError

namespace kiln::data {

// The side of an MNIST image, and of the box its digit is scaled to fit.
inline constexpr int kMnistSide = 28;
inline constexpr int kMnistDigitBox = 20;

// A pixel is ink when it is above this value once the background is dark (0 to 255): the crop is to
// the box of the ink. High enough that a JPEG's or a scan's faint noise does not stretch the box;
// fainter pixels inside the box, such as anti-aliased edges, are kept.
inline constexpr int kInkThreshold = 16;

// The largest width or height load_image_as_mnist accepts.
inline constexpr int kMaxImageSide = 16384;

// The most pixels load_image_as_mnist accepts per byte of the (inflated) file: a 1-bit PNG, the
// densest of the formats in use, packs 8 pixels a byte and deflate up to 1032 bytes in one. A
// header that claims more is a truncated or damaged file, which stb_image would otherwise decode in
// full, the missing pixels as zeros (a 17-byte TGA header claims 13874 x 14135 pixels: 0.8 GB).
inline constexpr std::int64_t kMaxPixelsPerFileByte = 8 * 1032;

// A 28x28 image made the way MNIST's were: grayscale; inverted when the background is light (the
// mean of the border pixels above 127), since MNIST digits are light on a dark background; cropped
// to the bounding box of the ink (pixels above kInkThreshold); scaled, keeping the aspect ratio, to
// fit a 20x20 box (area-averaged, so thin strokes become grey levels, as MNIST's anti-aliasing
// did; small images are enlarged); placed in 28x28 so that its centre of mass (intensity-weighted)
// falls at the centre, (14, 14) in pixel-centre coordinates (pixel (x, y) has its centre at
// (x, y)), shifting by whole pixels and clipping nothing that fits: where centring would push the
// digit over an edge, it stops at the edge instead.
//
// `gray` holds height rows of width pixels, row-major. Returns 784 values, row-major, 0 =
// background; all 0 when the image has no ink. A size that does not match gray, or below 1, is a
// caller's mistake (std::invalid_argument).
std::vector<std::uint8_t> mnist_style(std::span<const std::uint8_t> gray, int width, int height);

// Reads any image stb_image reads (PNG, binary PGM/PPM, JPEG, BMP, GIF's first frame, TGA, ...),
// and the plain (ASCII) P1/P2/P3 Netpbm files it does not, of any size; a gzip-compressed file is
// inflated first, as IDX files are. Converts to grayscale (Rec. 601 luma of RGB, alpha composited
// over white) and returns mnist_style of it. DataError for a missing file, a directory, an empty
// file, one that cannot be decoded (with stb's reason), a side over kMaxImageSide, more pixels
// than kMaxPixelsPerFileByte allows for the file's size, and a blank image (no ink at all).
std::vector<std::uint8_t> load_image_as_mnist(const std::filesystem::path& path);

// load_image_as_mnist on a file's bytes already in memory, with the same checks and messages;
// `source` stands for the path in them. The fuzzers of tests/fuzz drive it.
std::vector<std::uint8_t> decode_image_as_mnist(std::vector<std::uint8_t> file_bytes,
                                                const std::filesystem::path& source);

}  // namespace kiln::data
