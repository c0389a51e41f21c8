// lifeboatctl's commands, a file a group: each adds its subcommands (with their own options and
// --help) to the program, and runs the one given, leaving its exit code in the context.
#pragma once

#include <CLI/CLI.hpp>

#include "ctl/context.h"

namespace lifeboat::ctl {

void AddImageCommands(CLI::App& app, Context& context);  // image_commands.cpp
// image build, added to the image group by AddImageCommands.
void AddImageBuildCommand(CLI::App& image, Context& context);    // image_build_command.cpp
void AddRolloutCommands(CLI::App& app, Context& context);        // rollout_commands.cpp
void AddMachineCommands(CLI::App& app, Context& context);        // machine_commands.cpp
void AddAccessCommands(CLI::App& app, Context& context);         // access_commands.cpp
void AddKeyCommands(CLI::App& app, Context& context);            // key_commands.cpp
void AddMediaCommands(CLI::App& app, Context& context);          // media_commands.cpp
void AddRecoveryEntryCommands(CLI::App& app, Context& context);  // recovery_entry_commands.cpp

}  // namespace lifeboat::ctl
