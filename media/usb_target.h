// Finds out what a USB target is before it is written (media/usb_plan.h decides with it): its
// size, whether anything uses it, whether it holds the running system or Windows, and what is on
// it. Reads /proc, /sys and the disk; changes nothing.
#pragma once

#include <string>

#include "common/error.h"
#include "media/usb_plan.h"

namespace lifeboat::media {

// Errors: kIo when the target cannot be read (a missing image file is not an error: it is made).
[[nodiscard]] Result<UsbTarget> InspectUsbTarget(const std::string& path);

}  // namespace lifeboat::media
