// jobs: a systemd service and timer per [[jobs]] entry, with the app's environment.
// `run_on = "one"` jobs get their timer on one host only (the primary app server);
// `overlap = "forbid"` holds a lock for the whole run so a job never runs twice at once.
#include <core/render.hpp>
#include <provisioners/provisioner.hpp>

#include <fmt/format.h>

namespace berth::provisioners {

using namespace converge;

void add_jobs(const manifest::Manifest& m, const manifest::Server& server, Desired& out) {
  const auto* primary = primary_app_server(m);
  for (const auto& job : m.jobs) {
    if (!server.has_role(job.role)) continue;
    const bool here = job.run_on == manifest::RunOn::all || (primary && primary->name == server.name);
    const auto unit = fmt::format("{}-job-{}", m.app.name, job.name);
    kainjow::mustache::data d;
    d.set("app", m.app.name);
    d.set("job", job.name);
    d.set("user", m.app.name);
    d.set("root", app_root(m));
    d.set("env_file", env_file(m));
    d.set("timeout", job.timeout);
    d.set("on_calendar", job.on_calendar.empty() ? job.schedule : job.on_calendar);
    const auto command = systemd_quote(job.command);
    d.set("exec_start", job.overlap == manifest::Overlap::forbid
                            ? fmt::format("/usr/bin/flock --nonblock --conflict-exit-code 0 "
                                          "/run/lock/{}.lock /bin/sh -c \"{}\"",
                                          unit, command)
                            : fmt::format("/bin/sh -c \"{}\"", command));
    const auto service = "/etc/systemd/system/" + unit + ".service";
    const auto timer = "/etc/systemd/system/" + unit + ".timer";
    out.resources.push_back(make(File{.path = service,
                                      .content = render_template(m.dir, "systemd/job.service.mustache", d)},
                                 "jobs", {"daemon-reload"}));
    out.resources.push_back(make(File{.path = timer,
                                      .content = render_template(m.dir, "systemd/job.timer.mustache", d)},
                                 "jobs", {"daemon-reload", "restart:" + unit + ".timer"}));
    out.resources.push_back(
        make(Unit{.name = unit + ".timer", .enabled = here, .active = here}, "jobs"));
  }
}

}  // namespace berth::provisioners
