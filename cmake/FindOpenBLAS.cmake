# Finds OpenBLAS (the CPU backend's matrix products) by its files rather than by pkg-config:
# Debian's openblas.pc names absolute /usr paths, which are wrong for a copy unpacked elsewhere
# (the GPU check unpacks Debian's packages under a prefix named in CMAKE_PREFIX_PATH).
# Defines OpenBLAS::OpenBLAS.
find_path(OpenBLAS_INCLUDE_DIR NAMES openblas_config.h
          PATH_SUFFIXES openblas-pthread ${CMAKE_LIBRARY_ARCHITECTURE}/openblas-pthread openblas)
find_library(OpenBLAS_LIBRARY NAMES openblas PATH_SUFFIXES openblas-pthread)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenBLAS REQUIRED_VARS OpenBLAS_LIBRARY OpenBLAS_INCLUDE_DIR)
if(OpenBLAS_FOUND AND NOT TARGET OpenBLAS::OpenBLAS)
  add_library(OpenBLAS::OpenBLAS UNKNOWN IMPORTED)
  set_target_properties(OpenBLAS::OpenBLAS PROPERTIES IMPORTED_LOCATION "${OpenBLAS_LIBRARY}"
                                                      INTERFACE_INCLUDE_DIRECTORIES
                                                      "${OpenBLAS_INCLUDE_DIR}")
endif()
mark_as_advanced(OpenBLAS_INCLUDE_DIR OpenBLAS_LIBRARY)
