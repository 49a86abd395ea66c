// berth sandbox: throwaway local Debian hosts (systemd-nspawn) to rehearse a deploy
// on, and that the e2e tests use. See docs/sandbox.md.
#include <cli/cli.hpp>
#include <core/error.hpp>
#include <core/sandbox/sandbox.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace berth::cli {

namespace {

struct SandboxArgs {
  std::string name;
  int count = 1;
  int release = sandbox::default_release;
  int timeout = 120;
  bool all = false;
  std::string host;
  std::vector<std::string> command;
};

sandbox::Reporter reporter_for(Ui& ui) {
  return {[&ui](std::string_view line) { ui.progress(line); },
          [&ui](std::string_view line) { ui.detail(line); }};
}

nlohmann::json sandbox_json(const sandbox::Sandbox& box) {
  nlohmann::json hosts = nlohmann::json::array();
  for (const auto& host : box.hosts) {
    hosts.push_back({{"server", host.server},
                     {"index", host.index},
                     {"address", host.address},
                     {"user", "root"},
                     {"status", host.status},
                     {"failed_units", host.failed_units},
                     {"boot_seconds", host.boot_seconds}});
  }
  return {{"name", box.name},
          {"subnet", sandbox::subnet_cidr(box.subnet)},
          {"bridge", box.bridge},
          {"identity_file", box.identity_file.string()},
          {"known_hosts", box.known_hosts.string()},
          {"complete", box.complete},
          {"hosts", hosts},
          {"stanza", sandbox::render_stanza(box.stanza_hosts())}};
}

int run_up(Ui& ui, const SandboxArgs& args) {
  const auto paths = sandbox::Paths::from_environment();
  const auto box = sandbox::up(
      paths, args.name,
      {.count = args.count, .release = args.release, .boot_timeout = std::chrono::seconds(args.timeout)},
      reporter_for(ui));
  if (ui.json()) {
    ui.emit_json(sandbox_json(box));
    return 0;
  }
  ui.out(fmt::format("# berth sandbox {}: paste into berth.toml", box.name));
  const std::string stanza = sandbox::render_stanza(box.stanza_hosts());
  std::size_t start = 0;
  while (start < stanza.size()) {
    const auto end = stanza.find('\n', start);
    ui.out(std::string_view(stanza).substr(start, end - start));
    start = end == std::string::npos ? stanza.size() : end + 1;
  }
  return 0;
}

int run_down(Ui& ui, const SandboxArgs& args) {
  const auto paths = sandbox::Paths::from_environment();
  if (args.all == !args.name.empty()) {
    throw Error("`berth sandbox down` takes a sandbox NAME or --all", ExitCode::usage);
  }
  if (args.all) {
    sandbox::down_all(paths, reporter_for(ui));
  } else {
    sandbox::down(paths, args.name, reporter_for(ui));
  }
  if (ui.json()) ui.emit_json({{"removed", args.all ? "all" : args.name}});
  return 0;
}

int run_list(Ui& ui) {
  const auto boxes = sandbox::list(sandbox::Paths::from_environment());
  if (ui.json()) {
    auto doc = nlohmann::json::array();
    for (const auto& box : boxes)
      doc.push_back(sandbox_json(box));
    ui.emit_json(doc);
    return 0;
  }
  if (boxes.empty()) {
    ui.progress("no sandboxes (start one: berth sandbox up NAME)");
    return 0;
  }
  ui.out(fmt::format("{:<20} {:<16} {:<10} {}", "SERVER", "ADDRESS", "STATUS", "SANDBOX"));
  for (const auto& box : boxes) {
    for (const auto& host : box.hosts) {
      ui.out(fmt::format("{:<20} {:<16} {:<10} {}/{}", host.server, host.address, host.status,
                         box.name, host.index));
    }
  }
  return 0;
}

int run_ssh(const SandboxArgs& args) {
  const auto ref = sandbox::parse_host_ref(args.host);
  if (!ref) {
    throw Error(fmt::format("`{}` is not a sandbox host: write NAME or NAME/INDEX (e.g. fleet/2)",
                            args.host),
                ExitCode::usage);
  }
  const auto box = sandbox::find(sandbox::Paths::from_environment(), ref->sandbox);
  if (ref->host > static_cast<int>(box.hosts.size())) {
    throw Error(fmt::format("sandbox {} has {} host(s); there is no host {}", box.name,
                            box.hosts.size(), ref->host),
                ExitCode::usage);
  }
  const auto argv = sandbox::ssh_argv(box, box.hosts[ref->host - 1], args.command);
  std::vector<char*> c_argv;
  for (const auto& arg : argv)
    c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);
  std::fflush(nullptr);
  ::execvp(c_argv[0], c_argv.data());
  throw Error(fmt::format("cannot run ssh: {}", std::strerror(errno)), ExitCode::failure,
              "install the OpenSSH client: apt-get install openssh-client");
}

}  // namespace

void add_sandbox(CLI::App& app, Cli& cli) {
  auto args = std::make_shared<SandboxArgs>();
  auto* sandbox = app.add_subcommand(
      "sandbox", "Local throwaway Debian 12 or 13 test hosts (systemd-nspawn; needs root)");
  sandbox->require_subcommand(1);
  sandbox->footer(
      "Hosts boot from a cached debootstrap rootfs (/var/cache/berth/sandbox) and keep their\n"
      "state, keys and layers in /var/lib/berth/sandbox/NAME. See docs/sandbox.md.");

  auto* up = sandbox->add_subcommand(
      "up", "Boot sandbox NAME and print its [servers.*] stanza for berth.toml");
  up->add_option("name", args->name, "Sandbox name (a-z, 0-9, '-')")->required();
  up->add_option("--count", args->count, "Number of hosts (default 1)")
      ->check(CLI::Range(1, sandbox::max_hosts));
  up->add_option("--release", args->release,
                 "Debian release of the hosts: 12 (bookworm, the default) or 13 (trixie); each has its "
                 "own cache")
      ->check(CLI::IsMember({12, 13}));
  up->add_option("--timeout", args->timeout, "Seconds to wait for the hosts to boot (default 120)")
      ->check(CLI::Range(1, 3600));
  on_run(up, cli, [args](Ui& ui) { return run_up(ui, *args); });

  auto* down = sandbox->add_subcommand(
      "down", "Remove sandbox NAME (or all of them): processes, mounts, links, nft table");
  down->add_option("name", args->name, "Sandbox name");
  down->add_flag("--all", args->all, "Remove every sandbox and anything left by a crash");
  on_run(down, cli, [args](Ui& ui) { return run_down(ui, *args); });

  auto* list = sandbox->add_subcommand("list", "List sandboxes, their hosts and addresses");
  on_run(list, cli, [](Ui& ui) { return run_list(ui); });

  auto* ssh = sandbox->add_subcommand(
      "ssh", "Open an SSH session (or run a command after --) as root on a sandbox host");
  ssh->add_option("host", args->host, "NAME or NAME/INDEX (1-based), e.g. fleet/2")->required();
  add_command_words(ssh, cli, args->command, "Command to run instead of a shell (after --)");
  on_run(ssh, cli, [args](Ui&) { return run_ssh(*args); });
}

}  // namespace berth::cli
