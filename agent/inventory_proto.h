// Inventory <-> lifeboat.v1.Inventory, for inventory_codec.cpp and controller_client.cpp.
#pragma once

#include "agent/inventory.h"
#include "lifeboat/v1/types.pb.h"

namespace lifeboat::agent {

void ToProto(const Inventory& in, v1::Inventory* out);
[[nodiscard]] Inventory FromProto(const v1::Inventory& in);

}  // namespace lifeboat::agent
