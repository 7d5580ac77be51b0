// mkmap-keygen: creates the CURVE key files of the mkmap servers and workers.
//
// Exit codes: 0 success, 1 the keys could not be written (the message gives
// the reason and the fix), 2 invalid command line.

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "transport/errors.hpp"
#include "transport/key_file.hpp"
#include "transport/key_pair.hpp"

namespace {

namespace fs = std::filesystem;
namespace transport = mkmap::transport;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

/// Key name of the pair shared by the ventilator and the sink.
constexpr const char* kServerKeyName = "server";
/// Subfolder of the key folder that contains the public keys servers accept.
constexpr const char* kAuthorizedFolder = "authorized";

struct Options {
  fs::path dir = "keys";
  std::string worker_name;
  bool no_authorize = false;
};

/// Throws KeyError naming the first of paths that already exists, so that a
/// refusal leaves no file written.
void check_absent(const std::vector<fs::path>& paths) {
  for (const fs::path& path : paths) {
    std::error_code error;
    if (fs::exists(fs::symlink_status(path, error))) {
      throw transport::KeyError(
          path.string() +
          " already exists and mkmap-keygen never overwrites key files; "
          "remove it first or choose another name. Nothing was written.");
    }
  }
}

void write_pair(const fs::path& dir, const transport::KeyPair& pair) {
  transport::write_key_pair(dir, pair);
  std::cout << "wrote " << transport::public_key_path(dir, pair.name).string()
            << " (public) and "
            << transport::secret_key_path(dir, pair.name).string()
            << " (secret, mode 0600), fingerprint "
            << transport::fingerprint(pair.public_z85) << "\n";
}

void generate_server_keys(const Options& options) {
  check_absent({transport::public_key_path(options.dir, kServerKeyName),
                transport::secret_key_path(options.dir, kServerKeyName)});
  transport::create_private_directory(options.dir);

  write_pair(options.dir, transport::generate_key_pair(kServerKeyName));
  std::cout << "every worker needs a copy of "
            << transport::public_key_path(options.dir, kServerKeyName).string()
            << "\n";
}

void generate_worker_keys(const Options& options) {
  const fs::path authorized_dir = options.dir / kAuthorizedFolder;
  const fs::path authorized_path =
      transport::public_key_path(authorized_dir, options.worker_name);

  std::vector<fs::path> targets = {
      transport::public_key_path(options.dir, options.worker_name),
      transport::secret_key_path(options.dir, options.worker_name)};
  if (!options.no_authorize) {
    targets.push_back(authorized_path);
  }
  check_absent(targets);
  transport::create_private_directory(options.dir);

  const transport::KeyPair pair = transport::generate_key_pair(options.worker_name);
  write_pair(options.dir, pair);

  if (options.no_authorize) {
    std::cout << "to let this worker in, copy "
              << targets.front().string()
              << " into the authorized folder of the ventilator and sink\n";
    return;
  }
  transport::create_private_directory(authorized_dir);
  transport::write_public_key_file(authorized_path, pair);
  std::cout << "authorized " << options.worker_name << " by writing "
            << authorized_path.string() << "\n";
}

/// Accepts a key name as is_valid_key_name does, else returns the reason.
std::string validate_key_name(const std::string& name) {
  if (transport::is_valid_key_name(name)) {
    return {};
  }
  return "invalid key name \"" + name + "\": use 1 to " +
         std::to_string(transport::kMaxKeyNameSize) +
         " characters from A-Z, a-z, 0-9, '.', '_' and '-', starting with a "
         "letter or digit";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Create CURVE key files for mkmap. Each pair is NAME.key (public, safe "
      "to copy) and NAME.key_secret (secret, mode 0600). Existing files are "
      "never overwritten.\n"
      "Exit codes: 0 success, 1 keys not written, 2 invalid command line."};
  app.require_subcommand(1);

  Options options;
  CLI::App* server = app.add_subcommand(
      "server", "Create server.key and server.key_secret, the pair that the "
                "ventilator and the sink share. Give server.key to every worker.");
  server->add_option("--dir", options.dir,
                     "Folder for the key files, created with mode 0700 if missing")
      ->type_name("DIR")
      ->capture_default_str();

  CLI::App* worker = app.add_subcommand(
      "worker", "Create NAME.key and NAME.key_secret for one worker and copy "
                "NAME.key into DIR/authorized, the folder the servers read "
                "to admit workers.");
  worker->add_option("name", options.worker_name,
                     "Worker key name: letters, digits, '.', '_' and '-'")
      ->required()
      ->type_name("NAME")
      ->check(CLI::Validator(validate_key_name, "", "key name"));
  worker->add_option("--dir", options.dir,
                     "Folder for the key files, created with mode 0700 if missing")
      ->type_name("DIR")
      ->capture_default_str();
  worker->add_flag("--no-authorize", options.no_authorize,
                   "Do not copy NAME.key into DIR/authorized");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (server->parsed()) {
      generate_server_keys(options);
    } else {
      generate_worker_keys(options);
    }
  } catch (const std::exception& error) {
    std::cerr << "mkmap-keygen: error: " << error.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}
