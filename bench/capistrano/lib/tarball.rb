require "capistrano/scm/plugin"
require "digest"

# An SCM plugin that ships a local tarball (:tarball, a plain tar of the app's folder)
# instead of checking out a repository: uploaded over SFTP/SCP to :tmp_dir, unpacked
# into the new release folder, then removed. Its revision is the tarball's SHA-256.
class Capistrano::SCM::Tarball < Capistrano::SCM::Plugin
  def set_defaults
    set_if_empty :tarball, -> { ENV.fetch("BENCH_TARBALL") }
  end

  def register_hooks
    after "deploy:new_release_path", "tarball:create_release"
    before "deploy:set_current_revision", "tarball:set_current_revision"
  end

  def define_tasks
    namespace :tarball do
      desc "Upload the tarball and unpack it into the new release folder"
      task :create_release do
        on release_roles(:all) do
          remote = "#{fetch(:tmp_dir)}/#{fetch(:application)}-#{fetch(:release_timestamp)}.tar"
          upload! fetch(:tarball), remote
          execute :mkdir, "-p", release_path
          execute :tar, "-xf", remote, "-C", release_path
          execute :rm, "-f", remote
        end
      end

      desc "The tarball's SHA-256 as the release's revision"
      task :set_current_revision do
        set :current_revision, Digest::SHA256.file(fetch(:tarball)).hexdigest
      end
    end
  end
end
