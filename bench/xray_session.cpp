// xray_session.cpp - starts and stops an XRay logging mode for the benchmark.
//
// XRay's profiling and flight-recorder modes write nothing unless the
// program selects, initializes and patches them, and finalizes and flushes
// at the end; XRAY_OPTIONS alone only drives basic mode. Linked into the
// XRay variants of every workload; BENCH_XRAY_MODE names the mode
// (xray-profiling or xray-fdr), unset leaves XRay off.
#include <cstdio>
#include <cstdlib>
#include <xray/xray_interface.h>
#include <xray/xray_log_interface.h>

[[clang::xray_never_instrument]] __attribute__((constructor)) static void bench_xray_start() {
  const char *mode = std::getenv("BENCH_XRAY_MODE");
  if (mode == nullptr)
    return;
  if (__xray_log_select_mode(mode) != XRayLogRegisterStatus::XRAY_REGISTRATION_OK ||
      __xray_log_init_mode(mode, "") != XRayLogInitStatus::XRAY_LOG_INITIALIZED ||
      __xray_patch() != XRayPatchingStatus::SUCCESS) {
    std::fprintf(stderr, "bench: cannot start XRay mode %s\n", mode);
    std::exit(3);
  }
}

[[clang::xray_never_instrument]] __attribute__((destructor)) static void bench_xray_stop() {
  if (std::getenv("BENCH_XRAY_MODE") == nullptr)
    return;
  __xray_log_finalize();
  __xray_log_flushLog();
}
