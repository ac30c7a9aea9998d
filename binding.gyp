# One addon, dynamicfs_native.node. The SIMD kernels are compiled as separate static
# libraries because gyp applies cflags per target, and each instruction-set file must
# get its own -m flag (and only that file: the dispatchers run on any x86-64 CPU).
{
  "target_defaults": {
    "cflags!": ["-fno-exceptions", "-O2"],
    "cflags_cc!": ["-fno-exceptions", "-O2"],
    "cflags": ["-O3", "-fPIC", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags_cc": ["-O3", "-fPIC", "-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "include_dirs": ["native/include", "native/src/kernels"],
    "defines": ["NDEBUG"]
  },
  "targets": [
    {
      "target_name": "dfs_ssse3",
      "type": "static_library",
      "sources": ["native/src/kernels/rs_ssse3.cc"],
      "cflags_cc": ["-mssse3"]
    },
    {
      "target_name": "dfs_sse41",
      "type": "static_library",
      "sources": ["native/src/kernels/blake3_sse41.cc"],
      "cflags_cc": ["-msse4.1"]
    },
    {
      "target_name": "dfs_avx2",
      "type": "static_library",
      "sources": ["native/src/kernels/rs_avx2.cc", "native/src/kernels/blake3_avx2.cc"],
      "cflags_cc": ["-mavx2"]
    },
    {
      "target_name": "dynamicfs_native",
      "dependencies": ["dfs_ssse3", "dfs_sse41", "dfs_avx2"],
      "sources": [
        "native/src/kernels/status.cc",
        "native/src/kernels/gf256.cc",
        "native/src/kernels/rs_scalar.cc",
        "native/src/kernels/rs_dispatch.cc",
        "native/src/kernels/rs_codec.cc",
        "native/src/kernels/blake3_portable.cc",
        "native/src/kernels/blake3_dispatch.cc",
        "native/src/kernels/blake3.cc",
        "native/src/kernels/frag_header.cc",
        "native/src/kernels/frag_block.cc",
        "native/src/kernels/frag_io.cc",
        "native/src/kernels/file_lock.cc",
        "native/src/kernels/log_io.cc",
        "native/src/kernels/peer_cred.cc",
        "native/src/kernels/local_fs.cc",
        "native/src/binding/addon.cc",
        "native/src/binding/errors.cc",
        "native/src/binding/rs_binding.cc",
        "native/src/binding/blake3_binding.cc",
        "native/src/binding/frag_binding.cc",
        "native/src/binding/lock_binding.cc",
        "native/src/binding/log_binding.cc",
        "native/src/binding/peer_binding.cc",
        "native/src/binding/local_fs_binding.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ]
    }
  ]
}
