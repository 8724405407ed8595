// The IDX reader: exact round trips of raw and gzip files, and one test per fault in the input,
// each checking that the one-line message names the file and the fault. Every test crafts its own
// small files; none reads data/.
#include "runtime/data/idx.h"

#include <gtest/gtest.h>

// Makes zlib's input pointers const, so test bytes need no const_cast.
#define ZLIB_CONST
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/bytes.h"
#include "tests/support/data_error.h"
#include "tests/support/temp_dir.h"

namespace kiln::data {
namespace {

namespace fs = std::filesystem;
using testing::append_big_endian;
using testing::Bytes;
using testing::throws_data_error;

constexpr std::uint8_t kUnsignedByte = 0x08;
constexpr std::uint8_t kFloat = 0x0D;

// An IDX file: two zero bytes, the element type, the dimension count, each dimension as a
// big-endian uint32, then `body` as it is (so tests can make it too short or too long).
Bytes idx_file(const std::vector<std::uint32_t>& dims, const Bytes& body,
               std::uint8_t element_type = kUnsignedByte) {
  Bytes bytes = {0, 0, element_type, static_cast<unsigned char>(dims.size())};
  for (std::uint32_t dim : dims) append_big_endian(bytes, dim);
  bytes.insert(bytes.end(), body.begin(), body.end());
  return bytes;
}

// Bytes that differ from their neighbours, so a shifted or reordered read cannot pass.
Bytes distinct_bytes(std::size_t count) {
  Bytes bytes(count);
  for (std::size_t i = 0; i < count; ++i) {
    bytes[i] = static_cast<unsigned char>((i * 37 + 11) % 256);
  }
  return bytes;
}

// Compresses `raw` into one gzip member, as gzip(1) would.
Bytes gzip(const Bytes& raw) {
  z_stream stream{};
  // 16 + MAX_WBITS: a gzip header and trailer rather than zlib's own.
  EXPECT_EQ(
      deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  Bytes compressed(deflateBound(&stream, raw.size()));
  stream.next_in = raw.data();
  stream.avail_in = static_cast<uInt>(raw.size());
  stream.next_out = compressed.data();
  stream.avail_out = static_cast<uInt>(compressed.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  compressed.resize(stream.total_out);
  deflateEnd(&stream);
  return compressed;
}

void expect_images(const ImageSet& images, std::int64_t count, std::int64_t rows, std::int64_t cols,
                   const Bytes& pixels) {
  EXPECT_EQ(images.count, count);
  EXPECT_EQ(images.rows, rows);
  EXPECT_EQ(images.cols, cols);
  EXPECT_EQ(images.pixels, pixels);
}

// ---- Files that read ----

TEST(IdxImages, RawFileRoundTripsExactly) {
  testing::TempDir dir;
  const Bytes pixels = distinct_bytes(3 * 5 * 7);
  const fs::path file = dir.write("images-idx3-ubyte", idx_file({3, 5, 7}, pixels));
  expect_images(read_idx_images(file), 3, 5, 7, pixels);
}

TEST(IdxImages, GzipFileRoundTripsExactly) {
  testing::TempDir dir;
  const Bytes pixels = distinct_bytes(3 * 5 * 7);
  const fs::path file = dir.write("images-idx3-ubyte.gz", gzip(idx_file({3, 5, 7}, pixels)));
  expect_images(read_idx_images(file), 3, 5, 7, pixels);
}

TEST(IdxImages, ReadsSizesOtherThan28x28) {
  testing::TempDir dir;
  const std::vector<std::vector<std::uint32_t>> shapes = {
      {1, 1, 1}, {2, 1, 300}, {4, 31, 17}, {2, 28, 29}, {1, 64, 64}};
  for (const auto& shape : shapes) {
    SCOPED_TRACE(::testing::Message() << shape[0] << " x " << shape[1] << " x " << shape[2]);
    const Bytes pixels = distinct_bytes(std::size_t{shape[0]} * shape[1] * shape[2]);
    const Bytes raw = idx_file(shape, pixels);
    expect_images(read_idx_images(dir.write("raw", raw)), shape[0], shape[1], shape[2], pixels);
    expect_images(read_idx_images(dir.write("gzip", gzip(raw))), shape[0], shape[1], shape[2],
                  pixels);
  }
}

TEST(IdxImages, RecognisesGzipByContentNotByName) {
  testing::TempDir dir;
  const Bytes pixels = distinct_bytes(2 * 3 * 4);
  const Bytes raw = idx_file({2, 3, 4}, pixels);
  expect_images(read_idx_images(dir.write("no-extension-idx3-ubyte", gzip(raw))), 2, 3, 4, pixels);
  expect_images(read_idx_images(dir.write("not-compressed.gz", raw)), 2, 3, 4, pixels);
}

TEST(IdxLabels, RawAndGzipFilesRoundTripExactly) {
  testing::TempDir dir;
  const Bytes labels = {0, 9, 3, 3, 7, 1, 0, 5, 2, 8, 4, 6, 9};
  const Bytes raw = idx_file({static_cast<std::uint32_t>(labels.size())}, labels);
  EXPECT_EQ(read_idx_labels(dir.write("labels-idx1-ubyte", raw), 10), labels);
  EXPECT_EQ(read_idx_labels(dir.write("labels-idx1-ubyte.gz", gzip(raw)), 10), labels);
}

TEST(IdxLabels, AcceptsEveryByteWith256Classes) {
  testing::TempDir dir;
  const Bytes labels = distinct_bytes(256);
  const fs::path file = dir.write("labels", idx_file({256}, labels));
  EXPECT_EQ(read_idx_labels(file, 256), labels);
}

TEST(IdxLabels, RejectsAClassCountOutside1To256AsACallersMistake) {
  testing::TempDir dir;
  const fs::path file = dir.write("labels", idx_file({1}, {0}));
  EXPECT_THROW(read_idx_labels(file, 0), std::invalid_argument);
  EXPECT_THROW(read_idx_labels(file, 257), std::invalid_argument);
}

// The fuzzers' entry points: a file's bytes in memory, raw or gzip, read as the file itself, and
// faults named after the source given.
TEST(IdxInMemory, BytesReadAsTheFileWouldBe) {
  const Bytes pixels = distinct_bytes(2 * 3 * 4);
  const Bytes images = idx_file({2, 3, 4}, pixels);
  expect_images(parse_idx_images(images, "memory"), 2, 3, 4, pixels);
  expect_images(parse_idx_images(gzip(images), "memory"), 2, 3, 4, pixels);
  const Bytes labels = {0, 9, 3};
  EXPECT_EQ(parse_idx_labels(gzip(idx_file({3}, labels)), 10, "memory"), labels);
  EXPECT_TRUE(throws_data_error([&] { parse_idx_labels(idx_file({3}, labels), 9, "memory"); },
                                "memory", {"label out of range", "is 9"}));
  EXPECT_TRUE(throws_data_error(
      [&] {
        parse_idx_images({0, 0, 8}, "memory");
      },
      "memory", {"truncated header"}));
  EXPECT_THROW(parse_idx_labels(labels, 0, "memory"), std::invalid_argument);
  EXPECT_TRUE(throws_data_error([&] { inflate_if_gzip(distinct_bytes(5), "memory", 4); }, "memory",
                                {"5 bytes, over the limit of 4 bytes"}));
}

TEST(IdxDataset, LoadsImagesWithTheirLabels) {
  testing::TempDir dir;
  const Bytes pixels = distinct_bytes(3 * 5 * 7);
  const Bytes labels = {2, 0, 1};
  const fs::path images_file = dir.write("images.gz", gzip(idx_file({3, 5, 7}, pixels)));
  const fs::path labels_file = dir.write("labels", idx_file({3}, labels));
  const Dataset dataset = load_idx_dataset(images_file, labels_file, 3);
  expect_images(dataset.images, 3, 5, 7, pixels);
  EXPECT_EQ(dataset.labels, labels);
  EXPECT_EQ(dataset.num_classes, 3);
}

// ---- The file itself ----

TEST(IdxErrors, MissingFile) {
  testing::TempDir dir;
  const fs::path file = dir.path() / "absent-idx3-ubyte";
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file, {"no such file"}));
}

TEST(IdxErrors, DirectoryInsteadOfFile) {
  testing::TempDir dir;
  const fs::path folder = dir.path() / "images-idx3-ubyte";
  fs::create_directory(folder);
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(folder); }, folder, {"is a directory"}));
}

TEST(IdxErrors, EmptyFile) {
  testing::TempDir dir;
  const fs::path file = dir.write("empty", {});
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file, {"empty file"}));
}

TEST(IdxErrors, FileOverTheSizeLimit) {
  testing::TempDir dir;
  const fs::path file = dir.write("huge", {});
  // Sparse: no disk is used, and the reader refuses before reading a byte.
  fs::resize_file(file, kMaxIdxBytes + 1);
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {std::to_string(kMaxIdxBytes + 1), "over the limit"}));
}

TEST(IdxErrors, ALimitBelowOneByteIsACallersMistake) {
  testing::TempDir dir;
  const fs::path file = dir.write("raw", distinct_bytes(1));
  EXPECT_THROW(read_file_inflating_gzip(file, 0), std::invalid_argument);
}

// ---- The IDX header ----

TEST(IdxErrors, WrongMagicNumber) {
  testing::TempDir dir;
  Bytes bytes = idx_file({1, 2, 2}, distinct_bytes(4));
  bytes[0] = 'P';
  bytes[1] = 'K';
  const fs::path file = dir.write("archive.zip", bytes);
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"wrong magic number 0x504B0803", "0x00000803"}));
}

TEST(IdxErrors, UnsupportedElementType) {
  testing::TempDir dir;
  const fs::path file = dir.write("floats", idx_file({1, 1, 1}, {0, 0, 0, 0}, kFloat));
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"unsupported IDX element type 0x0D", "float"}));
}

TEST(IdxErrors, LabelsFileReadAsImages) {
  testing::TempDir dir;
  const fs::path file = dir.write("labels-idx1-ubyte", idx_file({3}, {0, 1, 2}));
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"wrong dimension count", "found 1", "expected 3"}));
}

TEST(IdxErrors, ImagesFileReadAsLabels) {
  testing::TempDir dir;
  const fs::path file = dir.write("images-idx3-ubyte", idx_file({1, 1, 1}, {0}));
  EXPECT_TRUE(throws_data_error([&] { read_idx_labels(file, 10); }, file,
                                {"wrong dimension count", "found 3", "expected 1"}));
}

TEST(IdxErrors, HeaderTruncatedInsideTheMagicNumber) {
  testing::TempDir dir;
  const fs::path file = dir.write("short", Bytes{0, 0});
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"truncated header", "2 bytes, too few for the 4-byte magic"}));
}

TEST(IdxErrors, HeaderTruncatedInsideTheDimensions) {
  testing::TempDir dir;
  const fs::path file = dir.write("short", Bytes{0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0});
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"truncated header", "10 bytes, too few for the 16-byte header"}));
}

// ---- The header's dimensions against the body ----

TEST(IdxErrors, TruncatedBody) {
  testing::TempDir dir;
  const fs::path file = dir.write("short", idx_file({3, 5, 7}, distinct_bytes(100)));
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"truncated body", "promises 105 bytes", "only 100 follow"}));
}

TEST(IdxErrors, TruncatedBodyInsideAnIntactGzipStream) {
  testing::TempDir dir;
  const fs::path file = dir.write("short.gz", gzip(idx_file({3, 5, 7}, distinct_bytes(100))));
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"truncated body", "promises 105 bytes", "only 100 follow"}));
}

TEST(IdxErrors, TrailingBytesAfterTheBody) {
  testing::TempDir dir;
  const fs::path file = dir.write("long", idx_file({3, 5, 7}, distinct_bytes(110)));
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"trailing bytes", "promises 105 bytes", "110 follow"}));
}

TEST(IdxErrors, ZeroImageCount) {
  testing::TempDir dir;
  const fs::path file = dir.write("none", idx_file({0, 28, 28}, {}));
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"zero-sized dimension", "count is 0"}));
}

TEST(IdxErrors, ZeroRows) {
  testing::TempDir dir;
  const fs::path file = dir.write("flat", idx_file({3, 0, 7}, {}));
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"zero-sized dimension", "rows is 0", "3 x 0 x 7"}));
}

TEST(IdxErrors, ZeroCols) {
  testing::TempDir dir;
  const fs::path file = dir.write("thin", idx_file({3, 5, 0}, {}));
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"zero-sized dimension", "cols is 0"}));
}

TEST(IdxErrors, ZeroLabelCount) {
  testing::TempDir dir;
  const fs::path file = dir.write("none", idx_file({0}, {}));
  EXPECT_TRUE(throws_data_error([&] { read_idx_labels(file, 10); }, file,
                                {"zero-sized dimension", "count is 0"}));
}

TEST(IdxErrors, DimensionProductOverflow) {
  testing::TempDir dir;
  const fs::path file =
      dir.write("vast", idx_file({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, distinct_bytes(16)));
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"dimension product overflows", "4294967295 x 4294967295"}));
}

// ---- The gzip stream ----

TEST(IdxErrors, CorruptGzipHeader) {
  testing::TempDir dir;
  Bytes bytes = gzip(idx_file({1, 2, 2}, distinct_bytes(4)));
  bytes[2] = 0x07;  // the compression method: 8 (deflate) is the only one defined
  const fs::path file = dir.write("corrupt.gz", bytes);
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"corrupt gzip stream", "unknown compression method"}));
}

TEST(IdxErrors, CorruptGzipChecksum) {
  testing::TempDir dir;
  Bytes bytes = gzip(idx_file({1, 2, 2}, distinct_bytes(4)));
  bytes[bytes.size() - 8] ^= 0xFF;  // the trailer's CRC-32 of the uncompressed data
  const fs::path file = dir.write("corrupt.gz", bytes);
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"corrupt gzip stream", "incorrect data check"}));
}

TEST(IdxErrors, TruncatedGzipStream) {
  testing::TempDir dir;
  Bytes bytes = gzip(idx_file({3, 5, 7}, distinct_bytes(105)));
  bytes.resize(bytes.size() / 2);
  const fs::path file = dir.write("cut.gz", bytes);
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"truncated gzip stream", std::to_string(bytes.size())}));
}

TEST(IdxErrors, BytesAfterTheGzipStream) {
  testing::TempDir dir;
  Bytes bytes = gzip(idx_file({1, 2, 2}, distinct_bytes(4)));
  bytes.insert(bytes.end(), {'j', 'u', 'n', 'k'});
  const fs::path file = dir.write("padded.gz", bytes);
  EXPECT_TRUE(throws_data_error([&] { read_idx_images(file); }, file,
                                {"trailing bytes", "4 bytes follow the end of the gzip stream"}));
}

TEST(IdxErrors, GzipStreamInflatingPastTheSizeLimit) {
  testing::TempDir dir;
  // A small stand-in for a hostile stream: about 100 bytes on disk that inflate to 64 KiB.
  const Bytes zeros(std::size_t{1} << 16, 0);
  const fs::path file = dir.write("bomb.gz", gzip(zeros));
  EXPECT_EQ(read_file_inflating_gzip(file, zeros.size()), zeros);
  EXPECT_TRUE(throws_data_error([&] { read_file_inflating_gzip(file, zeros.size() - 1); }, file,
                                {"gzip stream inflates to more than the limit of 65535 bytes"}));
}

TEST(IdxErrors, RawFileOverALimit) {
  testing::TempDir dir;
  const fs::path file = dir.write("raw", distinct_bytes(100));
  EXPECT_EQ(read_file_inflating_gzip(file, 100), distinct_bytes(100));
  EXPECT_TRUE(throws_data_error([&] { read_file_inflating_gzip(file, 99); }, file,
                                {"file is 100 bytes, over the limit of 99 bytes"}));
}

// ---- Images and labels together ----

TEST(IdxErrors, LabelOutOfRangeForTheClassCount) {
  testing::TempDir dir;
  const fs::path file = dir.write("labels", idx_file({5}, {0, 9, 3, 10, 2}));
  EXPECT_TRUE(throws_data_error([&] { read_idx_labels(file, 10); }, file,
                                {"label out of range", "index 3 is 10", "10 classes"}));
}

TEST(IdxErrors, ImageAndLabelCountsDiffer) {
  testing::TempDir dir;
  const fs::path images_file = dir.write("images", idx_file({3, 5, 7}, distinct_bytes(105)));
  const fs::path labels_file = dir.write("labels", idx_file({4}, {0, 1, 2, 3}));
  EXPECT_TRUE(throws_data_error([&] { load_idx_dataset(images_file, labels_file, 10); },
                                images_file,
                                {"count mismatch", "3 images", labels_file.string(), "4 labels"}));
}

}  // namespace
}  // namespace kiln::data
