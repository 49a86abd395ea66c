// The base rootfs cache: one debootstrap per recipe, shared read-only (as the overlay
// lower layer) by every sandbox host. Built in "<key>.partial" and renamed to "<key>"
// with a marker file last, so a crash mid-build never looks like a cache.
#include <core/sandbox/sandbox.hpp>
#include <core/sandbox/system.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <set>
#include <sstream>

namespace berth::sandbox {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view marker_name = "complete";
const std::string default_mirror = "http://deb.debian.org/debian";

// Files that every usable rootfs has; one missing means a corrupt cache.
const char* const essential_files[] = {
    "usr/lib/systemd/systemd",
    "usr/sbin/sshd",
    "usr/bin/apt-get",
    "usr/bin/sudo",
    "bin/sh",
    "etc/os-release",
    "usr/sbin/ip",
    "etc/ssh/sshd_config.d/berth-sandbox.conf",
};

void progress(const Reporter& reporter, std::string_view line) {
  if (reporter.progress) reporter.progress(line);
}

bool cache_usable(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / marker_name, ec)) return false;
  for (const char* file : essential_files) {
    if (!fs::exists(dir / "rootfs" / file, ec)) return false;
  }
  return true;
}

// The host's apt source files that point at Debian's archive (deb822 .sources or
// one-line .list), so the hosts install from the same mirror as this machine.
std::vector<fs::path> debian_source_files() {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_regular_file("/etc/apt/sources.list", ec)) files.emplace_back("/etc/apt/sources.list");
  for (const auto& entry : fs::directory_iterator("/etc/apt/sources.list.d", ec)) {
    const auto ext = entry.path().extension();
    if (ext == ".list" || ext == ".sources") files.push_back(entry.path());
  }
  std::erase_if(files, [](const fs::path& file) {
    std::string text;
    try {
      text = sys::read_file(file);
    } catch (const Error&) {
      return true;
    }
    return text.find("debian.org/debian") == std::string::npos;
  });
  return files;
}

// The mirror debootstrap uses: BERTH_SANDBOX_MIRROR, else the first Debian archive
// URI of this machine's apt sources, else deb.debian.org.
std::string mirror_for(const std::vector<fs::path>& source_files) {
  if (const char* env = std::getenv("BERTH_SANDBOX_MIRROR"); env && *env) return env;
  for (const auto& file : source_files) {
    std::istringstream lines(sys::read_file(file));
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string word;
      while (words >> word) {
        if (word.starts_with('#')) break;
        if ((word.starts_with("http://") || word.starts_with("https://")) &&
            word.find("security") == std::string::npos && word.ends_with("/debian")) {
          return word;
        }
      }
    }
  }
  return default_mirror;
}

// This machine's Debian codename (VERSION_CODENAME of /etc/os-release), or "".
std::string host_codename() {
  std::error_code ec;
  if (!fs::is_regular_file("/etc/os-release", ec)) return {};
  for (const auto line : util::lines(sys::read_file("/etc/os-release"))) {
    if (line.starts_with("VERSION_CODENAME=")) return std::string(line.substr(17));
  }
  return {};
}

// An apt source file of this machine, for a host of `suite`: this machine's codename
// replaced (bookworm, bookworm-updates, bookworm-security become trixie, ...).
std::string for_suite(std::string text, const std::string& suite) {
  const auto mine = host_codename();
  if (mine.empty() || mine == suite) return text;
  for (auto pos = text.find(mine); pos != std::string::npos; pos = text.find(mine, pos + suite.size())) {
    text.replace(pos, mine.size(), suite);
  }
  return text;
}

// What every host shares, done once in the cache: no machine-id and no SSH host
// keys (each host gets its own), root login by key only, DNS and apt sources as
// on this machine, no downloaded .debs, and dpkg without fsync: a host lives and dies
// with this machine's kernel, whose page cache outlives any crash of the host, so the
// syncs buy nothing and cost a fifth of each package install (a server stack: 65 s
// against 52 s).
void configure_base(const fs::path& rootfs, const std::vector<fs::path>& source_files,
                    const std::string& suite) {
  std::error_code ec;
  fs::remove(rootfs / "etc/machine-id", ec);
  fs::remove(rootfs / "var/lib/dbus/machine-id", ec);
  for (const auto& entry : fs::directory_iterator(rootfs / "etc/ssh", ec)) {
    if (entry.path().filename().string().starts_with("ssh_host_")) fs::remove(entry.path(), ec);
  }
  fs::create_directories(rootfs / "etc/ssh/sshd_config.d", ec);
  sys::write_file(rootfs / "etc/ssh/sshd_config.d/berth-sandbox.conf",
                  "# berth sandbox: root logs in with the sandbox key only.\n"
                  "HostKey /etc/ssh/ssh_host_ed25519_key\n"
                  "PermitRootLogin prohibit-password\n"
                  "PasswordAuthentication no\n"
                  "KbdInteractiveAuthentication no\n"
                  "UseDNS no\n");
  fs::create_directories(rootfs / "etc/dpkg/dpkg.cfg.d", ec);
  sys::write_file(rootfs / "etc/dpkg/dpkg.cfg.d/berth-sandbox",
                  "# berth sandbox: a throwaway host, no fsync per unpacked file.\nforce-unsafe-io\n");
  fs::remove(rootfs / "etc/resolv.conf", ec);
  sys::write_file(rootfs / "etc/resolv.conf", sys::read_file("/etc/resolv.conf"));
  if (!source_files.empty()) {
    fs::remove(rootfs / "etc/apt/sources.list", ec);
    for (const auto& file : source_files) {
      const fs::path target = file.filename() == "sources.list"
                                  ? rootfs / "etc/apt/sources.list"
                                  : rootfs / "etc/apt/sources.list.d" / file.filename();
      sys::write_file(target, for_suite(sys::read_file(file), suite));
    }
  }
  for (const auto& entry : fs::directory_iterator(rootfs / "var/cache/apt/archives", ec)) {
    if (entry.path().extension() == ".deb") fs::remove(entry.path(), ec);
  }
}

// Removes the caches of `recipe`'s suite and architecture from older recipe versions,
// which this berth never boots again (about 230 MB each), unless a sandbox still runs
// on one. Partial builds and other suites stay.
void remove_older_caches(const Paths& paths, const CacheRecipe& recipe, const Reporter& reporter) {
  std::set<std::string> in_use;
  for (const auto& sandbox : list(paths)) in_use.insert(sandbox.cache_key);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(paths.cache, ec)) {
    const auto name = entry.path().filename().string();
    const auto version = cache_key_version(name, recipe);
    // A host's overlay names its cache as lower layer: in use even when its sandbox's
    // state file is torn or gone.
    if (!version || *version >= recipe.version || in_use.contains(name) || !entry.is_directory(ec) ||
        sys::mount_uses(entry.path())) {
      continue;
    }
    std::error_code removed;
    fs::remove_all(entry.path(), removed);
    if (!removed) progress(reporter, fmt::format("removed the sandbox cache {} of an older berth", name));
  }
}

}  // namespace

fs::path ensure_cache(const Paths& paths, const Reporter& reporter, int release) {
  const auto recipe = default_recipe(release);
  const std::string key = cache_key(recipe);
  const fs::path dir = paths.cache / key;
  const fs::path rootfs = dir / "rootfs";
  if (cache_usable(dir)) {
    remove_older_caches(paths, recipe, reporter);
    return rootfs;
  }

  sys::FileLock lock(paths.cache / ".lock", [&] {
    progress(reporter, "waiting for another berth to finish building the sandbox cache");
  });
  // Another berth may have built it while we waited for the lock.
  if (cache_usable(dir)) return rootfs;

  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!sys::mounts_under(dir).empty()) {
      throw Error(
          fmt::format("the sandbox cache {} is corrupt but sandboxes still use it", dir.string()),
          ExitCode::failure, "run `berth sandbox down --all`, then retry");
    }
    progress(reporter, fmt::format("sandbox cache {} is incomplete or corrupt: rebuilding", key));
    fs::remove_all(dir, ec);
  }
  const fs::path partial = paths.cache / (key + ".partial");
  fs::remove_all(partial, ec);
  fs::create_directories(partial, ec);
  if (ec) throw Error(fmt::format("cannot create {}: {}", partial.string(), ec.message()));

  const auto sources = debian_source_files();
  const std::string mirror = mirror_for(sources);
  std::string includes;
  for (const auto& package : recipe.packages)
    includes += (includes.empty() ? "" : ",") + package;
  const std::vector<std::string> argv = {
      "debootstrap", "--variant=" + recipe.variant, "--include=" + includes,
      recipe.suite,  (partial / "rootfs").string(), mirror};
  progress(reporter,
           fmt::format("building the sandbox cache {} (debootstrap {} from {}, about a minute)",
                       key, recipe.suite, mirror));
  const auto started = std::chrono::steady_clock::now();
  auto result = run_process_streaming(argv, [&](OutputStream, std::string_view line) {
    if (reporter.detail) reporter.detail(fmt::format("debootstrap: {}", line));
  });
  if (!result) throw result.error();
  if (!result->ok()) {
    const auto log = partial / "rootfs/debootstrap/debootstrap.log";
    throw Error(fmt::format("debootstrap failed (exit {}) building the sandbox cache in {}:\n{}",
                            result->exit_code, partial.string(), result->tail(15)),
                ExitCode::failure,
                fmt::format("check the network and the mirror {} (set BERTH_SANDBOX_MIRROR to "
                            "use another){}",
                            mirror, fs::exists(log, ec) ? "; details in " + log.string() : ""));
  }
  configure_base(partial / "rootfs", sources, recipe.suite);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  sys::write_file(partial / marker_name,
                  fmt::format("key={}\nmirror={}\nseconds={:.1f}\n", key, mirror, seconds));
  fs::rename(partial, dir, ec);
  if (ec)
    throw Error(
        fmt::format("cannot rename {} to {}: {}", partial.string(), dir.string(), ec.message()));
  progress(reporter, fmt::format("sandbox cache {} built in {:.0f} s", key, seconds));
  remove_older_caches(paths, recipe, reporter);
  return rootfs;
}

}  // namespace berth::sandbox
