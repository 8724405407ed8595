// libFuzzer target: the IDX reader (runtime/data/idx.h) on arbitrary bytes, raw and gzip, read both
// as images and as labels. Two bytes lead the input: the first's low bit gzips the file first (so
// mutations of the IDX header and body also reach the reader through a valid gzip stream, not only
// as raw bytes or damaged deflate data), the second is the class count less one. The file follows.
// A DataError is the reader's documented answer to bad input; anything else escaping, a sanitizer
// report, or a result that breaks the header's promises is a finding. Run by scripts/fuzz.sh idx.
#define ZLIB_CONST
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "runtime/data/idx.h"

namespace {

// One gzip member, as gzip(1) writes it.
std::vector<std::uint8_t> gzip(const std::uint8_t* data, std::size_t size) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    std::abort();
  }
  std::vector<std::uint8_t> compressed(deflateBound(&stream, size));
  stream.next_in = data;
  stream.avail_in = static_cast<uInt>(size);
  stream.next_out = compressed.data();
  stream.avail_out = static_cast<uInt>(compressed.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) std::abort();
  compressed.resize(stream.total_out);
  deflateEnd(&stream);
  return compressed;
}

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool compress = (data[0] & 1) != 0;
  const int num_classes = data[1] + 1;
  const std::vector<std::uint8_t> file =
      compress ? gzip(data + 2, size - 2) : std::vector<std::uint8_t>(data + 2, data + size);

  try {
    const kiln::data::ImageSet images = kiln::data::parse_idx_images(file, "fuzz-images");
    check(images.count > 0 && images.rows > 0 && images.cols > 0);
    check(static_cast<std::int64_t>(images.pixels.size()) ==
          images.count * images.rows * images.cols);
  } catch (const kiln::data::DataError&) {
  }
  try {
    const std::vector<std::uint8_t> labels =
        kiln::data::parse_idx_labels(file, num_classes, "fuzz-labels");
    check(!labels.empty());
    for (const std::uint8_t label : labels) check(label < num_classes);
  } catch (const kiln::data::DataError&) {
  }
  return 0;
}
