#include <core/converge/apply.hpp>
#include <core/converge/engine.hpp>
#include <core/converge/probe.hpp>
#include <core/output/redact.hpp>
#include <core/secret.hpp>

#include <core/util/text.hpp>

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>

namespace berth::converge {

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok: return "ok";
    case Outcome::changed: return "changed";
    case Outcome::failed: return "failed";
    case Outcome::skipped: return "skipped";
  }
  return "?";
}

int HostReport::count(Outcome outcome) const {
  return static_cast<int>(std::count_if(resources.begin(), resources.end(),
                                        [&](const ResourceReport& r) { return r.outcome == outcome; }));
}

std::string generate_secret_value(int bytes) {
  std::string raw(static_cast<std::size_t>(bytes), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes) != 1) {
    throw Error("could not generate a secret: the system's random source failed", ExitCode::internal);
  }
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned bits = 0, buffer = 0;
  for (unsigned char c : raw) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += table[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += table[(buffer << (6 - bits)) & 63];
  return out;
}

namespace {


void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

// The resources to converge: the desired ones plus one create-only 0600 file per
// generated secret.
std::vector<Resource> with_secret_files(const provisioners::Desired& desired) {
  auto resources = desired.resources;
  for (const auto& s : desired.secrets) {
    resources.push_back(make(File{.path = s.path, .content = provisioners::secret_placeholder(s.name),
                                  .mode = "0600", .sensitive = Sensitive::yes,
                                  .overwrite = Overwrite::no},
                             "secrets"));
  }
  return resources;
}

// Puts each generated secret's value (read from the server, or new) in place of its
// placeholder in every file. New values are registered for redaction.
void fill_secrets(const provisioners::Desired& desired, const ProbeResult& probe,
                  std::vector<Resource>& resources) {
  std::map<std::string, std::string> values;
  for (const auto& s : desired.secrets) {
    const auto seen = probe.files.find(s.name);
    std::string value = seen != probe.files.end() ? seen->second : generate_secret_value(s.length);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    register_secret_value(value);
    values[provisioners::secret_placeholder(s.name)] = value;
  }
  if (values.empty()) return;
  for (auto& r : resources) {
    if (auto* f = std::get_if<File>(&r.spec)) {
      for (const auto& [placeholder, value] : values) replace_all(f->content, placeholder, value);
    }
  }
}

// The step id under which the missing packages of `stage` are installed together.
std::string first_package_step(Stage stage, const std::vector<Resource>& resources,
                               const std::vector<Change>& changes) {
  for (const auto& c : changes) {
    const auto& r = resources[c.index];
    if (c.action != Action::none && r.stage == stage && std::holds_alternative<Package>(r.spec)) {
      return std::to_string(c.index);
    }
  }
  return {};
}

}  // namespace

HostReport converge_host(Remote& remote, const provisioners::Desired& desired, Mode mode,
                         const Progress& progress, const Progress& output) {
  const auto start = std::chrono::steady_clock::now();
  const auto execs_before = remote.exec_count();
  HostReport report;
  report.host = remote.name();
  auto say = [&](std::string_view what) {
    if (progress) progress(what);
  };
  auto finish = [&] {
    report.execs = remote.exec_count() - execs_before;
    report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    return report;
  };

  auto resources = with_secret_files(desired);
  ProbeExtra extra;
  for (const auto& s : desired.secrets) extra.read_files[s.name] = s.path;

  // Probe: one exec reports everything.
  say("probing");
  const auto probed = remote.run_script(render_probe(resources, extra));
  if (!probed) {
    report.error = probed.error().what();
    report.failed_step = "probe";
    return finish();
  }
  if (probed->exit_status != 0) {
    report.error = fmt::format("the probe exited with status {}", probed->exit_status);
    report.failed_step = "probe";
    report.stderr_tail = redact(util::tail_lines(probed->err, 10));
    return finish();
  }
  const auto parsed = parse_probe(probed->out, resources.size());
  if (!parsed) {
    report.error = "the probe's output could not be read: " + parsed.error();
    report.failed_step = "probe";
    report.stderr_tail = redact(util::tail_lines(probed->err, 10));
    return finish();
  }

  // Plan: a local diff.
  fill_secrets(desired, *parsed, resources);
  const auto changes = plan(resources, parsed->resources);
  for (const auto& c : changes) {
    const auto& r = resources[c.index];
    report.resources.push_back({r.id(), r.kind(), r.component, c.action,
                                c.action == Action::none ? Outcome::ok : Outcome::changed, c.reasons,
                                redact(c.diff)});
  }
  if (mode == Mode::plan) return finish();
  // From here a change counts only once its step reported ok: what a failure kept
  // from running stays "skipped", never "changed".
  for (auto& rep : report.resources) {
    if (rep.action != Action::none) rep.outcome = Outcome::skipped;
  }

  // Apply: one script per stage that has changes; stop at the first failure.
  for (int s = 0; s < stage_count && !report.failed(); ++s) {
    const auto stage = static_cast<Stage>(s);
    const auto script = render_apply(stage, resources, changes);
    if (script.empty()) continue;
    std::string what;
    for (const auto& c : changes) {
      const auto& r = resources[c.index];
      if (c.action != Action::none && r.stage == stage) what += " " + r.id();
    }
    say(fmt::format("applying {}:{}", stage_name(stage), what));
    const auto ran = remote.run_script(script, Privilege::root, [&](Stream, std::string_view line) {
      if (output && !line.starts_with("@@step ")) output(line);
    });
    const auto steps = ran ? parse_apply(ran->out) : ApplyReport{};
    const auto package_step = first_package_step(stage, resources, changes);
    for (const auto& c : changes) {
      if (c.action == Action::none || resources[c.index].stage != stage) continue;
      const auto id = std::holds_alternative<Package>(resources[c.index].spec)
                          ? package_step
                          : std::to_string(c.index);
      const auto it = steps.steps.find(id);
      const auto status = it == steps.steps.end() ? StepStatus::pending : it->second;
      if (status == StepStatus::ok) report.resources[c.index].outcome = Outcome::changed;
      if (status == StepStatus::unchanged) report.resources[c.index].outcome = Outcome::ok;
      if (status == StepStatus::failed || status == StepStatus::begun) {
        report.resources[c.index].outcome = Outcome::failed;
      }
    }
    if (!ran) {
      report.failed_step = stage_name(stage);
      report.error = ran.error().what();
    } else if (ran->exit_status != 0 || !steps.failed_step.empty()) {
      const auto& id = steps.failed_step;
      report.failed_step = id.empty()            ? std::string(stage_name(stage))
                           : id.starts_with("h:") ? "handler " + id.substr(2)
                                                  : resources[std::stoul(id)].id();
      report.error = fmt::format("{} failed (exit status {})", report.failed_step,
                                 id.empty() ? ran->exit_status : steps.failed_exit_code);
      report.stderr_tail = redact(util::tail_lines(ran->err, 15));
    }
  }
  return finish();
}

}  // namespace berth::converge
