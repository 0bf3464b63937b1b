// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <installer/phases/phase.hpp>

namespace installer::phases {

// images: each image the profile marks `airgap` (k3s's own) written from the store as an OCI archive
// into /var/lib/rancher/k3s/agent/images/, which k3s imports at every start (so before k3s first starts).
std::unique_ptr<Phase> make_images_phase(const common::bundle::PhaseInfo& info);

// import: each image the profile marks `import` put into the running containerd (k3s's socket when it
// runs, else containerd's), with `ctr -n k8s.io images import`, under its original name. The others
// are pulled from the registry on demand.
std::unique_ptr<Phase> make_import_phase(const common::bundle::PhaseInfo& info);

} // namespace installer::phases
