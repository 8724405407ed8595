# Project-wide compile settings and helpers for kiln's own targets (never applied to dependencies).

# Warnings as errors for host code (g++) and device code (nvcc and the host compiler it drives).
function(kiln_target_defaults target)
  set(host_warnings -Wall -Wextra -Wpedantic)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${host_warnings}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
  if(KILN_WERROR)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Werror>
      $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Werror>)
  endif()
  # Sanitizers instrument host code only: device code and the CUDA runtime stay as they are. The
  # sanitize test preset sets ASAN_OPTIONS=protect_shadow_gap=0, as the CUDA runtime maps memory
  # where ASan would otherwise reserve its shadow gap.
  if(KILN_SANITIZE)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all>
      # GCC's flow analysis gives false alarms on ASan-instrumented code.
      $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized>)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# kiln_add_library(name SOURCES ... DEPENDS ...): one library per layer of the architecture.
function(kiln_add_library name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(${name} STATIC ${arg_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${arg_DEPENDS} PRIVATE ${arg_PRIVATE_DEPENDS})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  kiln_target_defaults(${name})
endfunction()
