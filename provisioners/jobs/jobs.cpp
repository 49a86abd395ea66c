// jobs: a systemd service and timer per [[jobs]] entry, with the app's environment.
// `run_on = "one"` jobs get their timer on one host only (the primary app server);
// `overlap = "forbid"` holds a lock for the whole run so a job never runs twice at once.
// A failed run starts APP-job-failed@JOB.service (OnFailure=), which writes the failure
// to the journal and POSTs it to the job's on_failure_webhook when there is one.
#include <core/error.hpp>
#include <core/render.hpp>
#include <core/util/encode.hpp>
#include <provisioners/provisioner.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::provisioners {

using namespace converge;

namespace {

std::string failure_script(const manifest::Manifest& m) {
  return fmt::format("/usr/local/lib/berth/{}-job-failed", m.app.name);
}

std::string webhook_dir(const manifest::Manifest& m) { return config_dir(m) + "/jobs"; }

}  // namespace

converge::Resource failure_webhook(const manifest::Manifest& m, std::string_view name, const std::string& url,
                                   std::string_view component) {
  // Always written, empty without a webhook, so that removing the key stops the posts.
  // 0600: webhook URLs often carry a token.
  return make(File{.path = fmt::format("{}/{}.curl", webhook_dir(m), name),
                   .content = url.empty() ? std::string("# no on_failure_webhook\n")
                                          : "url = " + util::curl_config_quoted(url) + "\n",
                   .mode = "0600",
                   .sensitive = Sensitive::yes},
              std::string(component));
}

void add_failure_reporter(const manifest::Manifest& m, Desired& out) {
  kainjow::mustache::data d;
  d.set("app", m.app.name);
  d.set("script", failure_script(m));
  d.set("webhook_dir", webhook_dir(m));
  add_once(out, make(Package{"curl"}, "jobs"));
  add_once(out, make(File{.path = failure_script(m),
                          .content = render_template(m.dir, "systemd/job-failed.sh.mustache", d),
                          .mode = "0755"},
                     "jobs"));
  add_once(out, make(File{.path = fmt::format("/etc/systemd/system/{}-job-failed@.service", m.app.name),
                          .content = render_template(m.dir, "systemd/job-failed@.service.mustache", d)},
                     "jobs", {"daemon-reload"}));
}

void add_jobs(const manifest::Manifest& m, const manifest::Server& server,
              manifest::SecretSources& secrets, Desired& out) {
  const auto* primary = primary_app_server(m);
  bool any = false;
  for (const auto& job : m.jobs) {
    if (!server.has_role(job.role)) continue;
    any = true;
    // The URL may hold ${secret:NAME} / ${env:NAME} (a Slack or Discord webhook URL is
    // itself a token): it lands only in a 0600 file and is redacted from output.
    const auto webhook = manifest::resolve_value(job.on_failure_webhook, secrets);
    if (!webhook) {
      throw Error(fmt::format("{}:{}:{}: job {}: on_failure_webhook: {}", job.where.file, job.where.line,
                              job.where.column, job.name, webhook.error().what()),
                  webhook.error().code(), webhook.error().hint());
    }
    const bool here = job.run_on == manifest::RunOn::all || (primary && primary->name == server.name);
    const auto unit = fmt::format("{}-job-{}", m.app.name, job.name);
    kainjow::mustache::data d;
    d.set("app", m.app.name);
    d.set("job", job.name);
    d.set("user", m.app.name);
    d.set("root", app_root(m));
    d.set("env_file", env_file(m));
    if (const auto path = runtime_path(m, app_root(m) + "/current"); !path.empty()) d.set("path", path);
    d.set("timeout", job.timeout);
    d.set("on_calendar", job.on_calendar.empty() ? job.schedule : job.on_calendar);
    const auto command = systemd_quote(job.command);
    d.set("exec_start", job.overlap == manifest::Overlap::forbid
                            ? fmt::format("/usr/bin/flock --nonblock --conflict-exit-code 0 "
                                          "/run/lock/{}.lock /bin/sh -c \"{}\"",
                                          unit, command)
                            : fmt::format("/bin/sh -c \"{}\"", command));
    add_timed_service(out, unit, render_template(m.dir, "systemd/job.service.mustache", d),
                      render_template(m.dir, "systemd/job.timer.mustache", d), "jobs", here);
    out.resources.push_back(failure_webhook(m, job.name, webhook->reveal(), "jobs"));
  }
  // What a failed run starts: one template unit for all the app's jobs.
  if (any) add_failure_reporter(m, out);
}

}  // namespace berth::provisioners
