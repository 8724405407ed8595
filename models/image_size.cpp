#include "models/image_size.h"

#include <fmt/format.h>

#include "models/networks.h"

namespace kiln::models {

void require_model_image_size(const data::ImageSet& images, std::string_view source) {
  if (images.rows == kImageSide && images.cols == kImageSide) return;
  throw data::DataError(fmt::format("{}: images are {}x{}; the models take {}x{}", source,
                                    images.rows, images.cols, kImageSide, kImageSide));
}

}  // namespace kiln::models
