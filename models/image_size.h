// The models take 28x28 images (kImageSide). Every set of images they are given, from a dataset
// folder, an IDX file or a caller's Datasets, is checked here, so the message is the same wherever
// the images came from.
#pragma once

#include <string_view>

#include "runtime/data/idx.h"

namespace kiln::models {

// Throws data::DataError "<source>: images are RxC; the models take 28x28" unless `images` are
// 28x28. `source` names where they came from: the file, or "data" for a caller's datasets.
void require_model_image_size(const data::ImageSet& images, std::string_view source);

}  // namespace kiln::models
