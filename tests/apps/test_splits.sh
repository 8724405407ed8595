# Sourced by the app tests (from the source dir): dataset splits written by hand.

# write_32x32_test_split DIR: a test split of ten blank 32x32 images labelled 0
# (DIR/t10k-images-idx3-ubyte, DIR/t10k-labels-idx1-ubyte): valid IDX files, but not the models'
# 28x28.
write_32x32_test_split() {
  {
    printf '\x00\x00\x08\x03\x00\x00\x00\x0a\x00\x00\x00\x20\x00\x00\x00\x20'
    head -c 10240 /dev/zero
  } >"$1/t10k-images-idx3-ubyte"
  {
    printf '\x00\x00\x08\x01\x00\x00\x00\x0a'
    head -c 10 /dev/zero
  } >"$1/t10k-labels-idx1-ubyte"
}
