{
  # The core addon: native/core (C++20, no dependency beyond the C++ runtime) + its Node-API
  # bindings. Built by `npm run build:core` (node-gyp) and prebuilt by `npm run build:prebuild`
  # (prebuildify --napi); loaded with node-gyp-build (src/native/core.ts).
  "target_defaults": {
    "cflags!": ["-fno-exceptions", "-O2", "-O0"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++1y", "-O2", "-O0"],
    "cflags_cc": ["-std=c++20", "-fexceptions", "-O3", "-fno-trapping-math", "-fno-math-errno", "-Wall", "-Wextra"]
  },
  "targets": [
    {
      # The CPU engine's kernels, once per instruction set (native/core/cpu_isa.h chooses at load;
      # the flags are also in scripts/isa-flags.sh and CMakeLists.txt).
      "target_name": "segloss_kernels_avx2",
      "type": "static_library",
      "sources": ["native/core/tile_kernels_avx2.cpp"],
      "cflags_cc": ["-mavx2", "-mfma", "-ffp-contract=fast"]
    },
    {
      "target_name": "segloss_kernels_avx512",
      "type": "static_library",
      "sources": ["native/core/tile_kernels_avx512.cpp"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma",
                    "-mprefer-vector-width=512", "-ffp-contract=fast"]
    },
    {
      "target_name": "segloss_core",
      "dependencies": ["segloss_kernels_avx2", "segloss_kernels_avx512"],
      "sources": [
        "native/core/losses.cpp",
        "native/core/rmi_cpu.cpp",
        "native/core/active_boundary.cpp",
        "native/core/map_terms.cpp",
        "native/core/target_maps.cpp",
        "native/core/cpu_isa.cpp",
        "native/core/parallel_cpu.cpp",
        "native/core/tile_kernels_sse2.cpp",
        "native/addon/errors.cpp",
        "native/addon/typed_arrays.cpp",
        "native/addon/loss_request.cpp",
        "native/addon/core_addon.cpp",
        "native/core/geometry/distance_transform.cpp",
        "native/core/geometry/distance_maps.cpp",
        "native/core/geometry/morphology.cpp",
        "native/core/geometry/segmentation_metrics.cpp",
        "native/addon/geometry_addon.cpp",
        "native/core/standalone/boundary_aware.cpp",
        "native/core/standalone/conditional_boundary.cpp",
        "native/core/standalone/inverse_form.cpp",
        "native/core/standalone/inverse_form_net.cpp",
        "native/core/standalone/inverse_form_training.cpp",
        "native/addon/standalone_losses_addon.cpp"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "ldflags": ["-Wl,-z,now"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++20",
        "OTHER_LDFLAGS": []
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++20"] }
      }
    }
  ]
}
