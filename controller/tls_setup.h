// The controller's TLS material, in data_dir/tls: its CA (which issues agents' certificates at
// enrollment) and its server certificate. Made on the first start, then reused: an operator who
// wants their own CA or server certificate puts ca.key/ca.pem or server.key/server.pem there
// before the first start. The server certificate names localhost, 127.0.0.1, ::1, the host's
// name and every extra name given; it is re-issued when it is missing or has under 30 days left
// (delete tls/server.pem after changing names). data_dir/ca.pem is a copy of the CA certificate to
// hand to agents and operators.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"
#include "common/pki.h"

namespace lifeboat::controller {

struct TlsMaterial {
  KeyAndCertificate ca;
  KeyAndCertificate server;
  bool made_ca = false;  // this start made the CA (none was in DATA_DIR/tls)
};

// Errors: kIo naming the file.
[[nodiscard]] Result<TlsMaterial> LoadOrCreateTls(const std::string& data_dir,
                                                  const std::vector<std::string>& extra_names);

// The certificate chain the controller's TLS servers show: the server certificate followed by
// the CA's when the CA issued it and server.pem holds no chain of its own (as given otherwise).
// The same two certificates OpenSSL would send anyway, but given rather than found: without a
// chain, OpenSSL builds and verifies it again on every handshake.
[[nodiscard]] std::string ServedCertificateChain(const TlsMaterial& tls);

}  // namespace lifeboat::controller
