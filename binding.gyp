{
  # The core addon: native/core (C++20, no dependency beyond the C++ runtime) + its Node-API
  # bindings. Built by `npm run build:core` (node-gyp) and prebuilt by `npm run build:prebuild`
  # (prebuildify --napi); loaded with node-gyp-build (src/native/core.ts).
  "targets": [
    {
      "target_name": "segloss_core",
      "sources": [
        "native/core/losses.cpp",
        "native/addon/errors.cpp",
        "native/addon/typed_arrays.cpp",
        "native/addon/loss_request.cpp",
        "native/addon/core_addon.cpp",
        "native/core/geometry/distance_transform.cpp",
        "native/core/geometry/distance_maps.cpp",
        "native/core/geometry/morphology.cpp",
        "native/core/geometry/segmentation_metrics.cpp",
        "native/addon/geometry_addon.cpp"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++1y", "-O2", "-O0"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-O3", "-fno-trapping-math", "-Wall", "-Wextra"],
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
