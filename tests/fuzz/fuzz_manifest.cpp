// libFuzzer target: the manifest loader and the playbook TOML reader on any bytes.
// Neither may crash, hang or leak; a bad file is a Diagnostic. Built and run by
// tests/fuzz/run.sh (clang with libc++, since libstdc++ 12 offers std::expected to GCC only).
#include <core/manifest/load.hpp>
#include <core/manifest/toml_tree.hpp>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const std::string path = "/tmp/berth-fuzz-" + std::to_string(::getpid()) + ".toml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  (void)berth::manifest::load(path);
  (void)berth::manifest::parse_toml(text, "fuzz.toml");
  return 0;
}
