// Streams a published image's bytes to a gRPC client, as agents (AgentService) and operators
// making boot media (AdminService) download them: chunks ending at multiples of 1 MiB, each with
// the SHA-256 of the image from byte 0 to its end (computed at publish). Blocks on file I/O.
#pragma once

#include <grpcpp/grpcpp.h>

#include "controller/image_catalog.h"
#include "lifeboat/v1/agent_service.grpc.pb.h"

namespace lifeboat::controller {

grpc::Status StreamImage(const ImageCatalog& catalog, const ImageRecord& image, uint64_t offset,
                         grpc::ServerContext* context,
                         grpc::ServerWriter<v1::DownloadImageResponse>* writer);

}  // namespace lifeboat::controller
