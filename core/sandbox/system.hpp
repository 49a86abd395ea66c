#pragma once

// Linux facts and actions `berth sandbox` needs on this machine: processes, mounts,
// links, namespaces, files, locks. Internal to core/sandbox/.

#include <core/util/process.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::sandbox::sys {

// Runs argv; throws Error naming the command, its exit code and stderr tail when it
// fails or exits non-zero. `what` says what was being done ("create bridge berth-x").
ProcessResult run_checked(const std::vector<std::string>& argv, std::string_view what,
                          const ProcessOptions& options = {});

// Whether process `pid` exists and is not a zombie (a zombie child of ours is reaped).
bool process_alive(int pid);

// A process seen in /proc.
struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  std::string comm;
  std::vector<std::string> argv;
};

// Every process on the machine (those that vanish while scanning are skipped).
std::vector<ProcessInfo> processes();

// The value of `--machine=` in a systemd-nspawn command line, or empty when `process`
// is not systemd-nspawn.
std::string nspawn_machine(const ProcessInfo& process);

// Mount points at or below `root` (from /proc/self/mountinfo), deepest first.
std::vector<std::filesystem::path> mounts_under(const std::filesystem::path& root);

// Whether a mount uses `root` or anything below it: as its mount point, or as a
// layer an overlay names in its options (lowerdir=, upperdir=, workdir=).
bool mount_uses(const std::filesystem::path& root);

// Unmounts `target` (lazily when busy); throws Error when it stays mounted.
void unmount(const std::filesystem::path& target);

// Whether network interface `name` exists in this namespace.
bool link_exists(std::string_view name);

// Names of this namespace's network interfaces.
std::vector<std::string> links();

// Names of the named network namespaces (/run/netns).
std::vector<std::string> netns_names();

// Whether the nft table `ip NAME` exists.
bool nft_table_exists(std::string_view name);

// Writes `content` to `path` through a temp file and rename; throws Error on failure.
void write_file(const std::filesystem::path& path, std::string_view content, int mode = 0644);

// The content of `path`; throws Error when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// An exclusive flock on `path` (created when missing), held until destruction.
// When another process holds it, `on_wait` is called once before blocking.
class FileLock {
public:
  explicit FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait = {});
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

private:
  int fd_ = -1;
};

// 32 random lowercase hex digits (a machine-id).
std::string random_hex32();

}  // namespace berth::sandbox::sys
