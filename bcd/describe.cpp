#include "bcd/describe.h"

#include <cstdio>
#include <map>

#include "bcd/device.h"

namespace lifeboat::bcd {

namespace {

// Names from Microsoft's BCD element documentation and bcdedit's output (BCD-FORMAT.md §2).
const std::map<uint32_t, const char*>& CommonNames() {
  static const std::map<uint32_t, const char*> names = {
      {0x11000001, "device"},
      {0x12000002, "path"},
      {0x12000004, "description"},
      {0x12000005, "locale"},
      {0x14000006, "inherit"},
      {0x15000007, "truncatememory"},
      {0x14000008, "recoverysequence"},
      {0x16000009, "recoveryenabled"},
      {0x1700000a, "badmemorylist"},
      {0x1600000b, "badmemoryaccess"},
      {0x1500000c, "firstmegabytepolicy"},
      {0x1500000d, "relocatephysical"},
      {0x1500000e, "avoidlowmemory"},
      {0x1600000f, "traditionalkseg"},
      {0x16000010, "bootdebug"},
      {0x15000011, "debugtype"},
      {0x15000012, "debugaddress"},
      {0x15000013, "debugport"},
      {0x15000014, "baudrate"},
      {0x15000015, "channel"},
      {0x12000016, "targetname"},
      {0x16000017, "noumex"},
      {0x15000018, "debugstart"},
      {0x12000019, "busparams"},
      {0x1500001a, "hostip"},
      {0x1500001b, "port"},
      {0x1600001c, "dhcp"},
      {0x1200001d, "key"},
      {0x1600001e, "vm"},
      {0x16000020, "bootems"},
      {0x15000022, "emsport"},
      {0x15000023, "emsbaudrate"},
      {0x12000030, "loadoptions"},
      {0x16000040, "advancedoptions"},
      {0x16000041, "optionsedit"},
      {0x15000042, "keyringaddress"},
      {0x11000043, "bootstatusdatalogdevice"},
      {0x12000044, "bootstatusdatalogfile"},
      {0x16000045, "bootstatusdatalogappend"},
      {0x16000046, "graphicsmodedisabled"},
      {0x15000047, "configaccesspolicy"},
      {0x16000048, "nointegritychecks"},
      {0x16000049, "testsigning"},
      {0x1200004a, "fontpath"},
      {0x1500004b, "integrityservices"},
      {0x1500004c, "volumebandid"},
      {0x16000050, "extendedinput"},
      {0x15000051, "initialconsoleinput"},
      {0x15000052, "graphicsresolution"},
      {0x16000053, "restartonfailure"},
      {0x16000054, "highestmode"},
      {0x16000060, "isolatedcontext"},
      {0x15000065, "displaymessage"},
      {0x15000066, "displaymessageoverride"},
      {0x16000068, "nobootuxtext"},
      {0x16000069, "nobootuxprogress"},
      {0x1600006a, "nobootuxfade"},
      {0x1600006b, "bootuxreservepooldebug"},
      {0x1600006c, "bootuxdisabled"},
      {0x1500006d, "bootuxfadeframes"},
      {0x1600006e, "bootuxdumpstats"},
      {0x1600006f, "bootuxshowstats"},
      {0x16000071, "multibootsystem"},
      {0x16000072, "forcenolegacy"},
      {0x15000073, "bootuxprogressanimationtimeout"},
      {0x16000074, "bootshutdowndisabled"},
      {0x17000077, "allowedinmemorysettings"},
      {0x16000079, "forcefipscrypto"},
      {0x31000003, "ramdisksdidevice"},
      {0x32000004, "ramdisksdipath"},
      {0x35000001, "ramdiskimageoffset"},
      {0x35000002, "ramdisktftpclientport"},
      {0x36000006, "exportascd"},
      {0x35000007, "ramdisktftpblocksize"},
      {0x35000008, "ramdisktftpwindowsize"},
      {0x36000009, "ramdiskmcenabled"},
      {0x3600000a, "ramdiskmctftpfallback"},
      {0x46000010, "custom:46000010"},
  };
  return names;
}

const std::map<uint32_t, const char*>& BootManagerNames() {
  static const std::map<uint32_t, const char*> names = {
      {0x24000001, "displayorder"},
      {0x24000002, "bootsequence"},
      {0x23000003, "default"},
      {0x25000004, "timeout"},
      {0x26000005, "attemptresume"},
      {0x23000006, "resumeobject"},
      {0x24000010, "toolsdisplayorder"},
      {0x26000020, "displaybootmenu"},
      {0x26000021, "noerrordisplay"},
      {0x21000022, "bcddevice"},
      {0x22000023, "bcdfilepath"},
      {0x26000024, "hiberboot"},
      {0x26000025, "persistbootsequence"},
      {0x26000026, "processcustomactionsfirst"},
      {0x27000030, "customactions"},
      {0x26000031, "persistbootsequence"},
      {0x25000008, "fwbootmgrdefault"},
      {0x16000009, "recoveryenabled"},
      {0x1600000b, "badmemoryaccess"},
  };
  return names;
}

const std::map<uint32_t, const char*>& OsLoaderNames() {
  static const std::map<uint32_t, const char*> names = {
      {0x21000001, "osdevice"},
      {0x22000002, "systemroot"},
      {0x23000003, "resumeobject"},
      {0x26000004, "stampdisks"},
      {0x26000010, "detecthal"},
      {0x22000011, "kernel"},
      {0x22000012, "hal"},
      {0x22000013, "dbgtransport"},
      {0x25000020, "nx"},
      {0x25000021, "pae"},
      {0x26000022, "winpe"},
      {0x26000024, "nocrashautoreboot"},
      {0x26000025, "lastknowngood"},
      {0x26000026, "oslnointegritychecks"},
      {0x26000027, "osltestsigning"},
      {0x26000030, "nolowmem"},
      {0x25000031, "removememory"},
      {0x25000032, "increaseuserva"},
      {0x26000040, "vga"},
      {0x26000041, "quietboot"},
      {0x26000042, "novesa"},
      {0x25000050, "clustermodeaddressing"},
      {0x26000051, "usephysicaldestination"},
      {0x25000052, "restrictapiccluster"},
      {0x26000060, "onecpu"},
      {0x25000061, "numproc"},
      {0x26000062, "maxproc"},
      {0x25000063, "configflags"},
      {0x26000070, "usefirmwarepcisettings"},
      {0x25000071, "msi"},
      {0x25000072, "pciexpress"},
      {0x25000080, "safeboot"},
      {0x26000081, "safebootalternateshell"},
      {0x26000090, "bootlog"},
      {0x260000a0, "debug"},
      {0x260000a1, "halbreakpoint"},
      {0x260000b0, "ems"},
      {0x250000c0, "forcefailure"},
      {0x250000c1, "driverloadfailurepolicy"},
      {0x250000c2, "bootmenupolicy"},
      {0x260000f0, "hypervisordebug"},
      {0x250000f3, "hypervisorlaunchtype"},
      {0x250000e0, "bootstatuspolicy"},
      {0x26000116, "isolatedcontext"},
      {0x250000f2, "hypervisordebugtype"},
      {0x26000114, "disabledynamictick"},
      {0x26000115, "disableelamdrivers"},
  };
  return names;
}

std::string Hex(const std::vector<uint8_t>& data) {
  std::string out;
  char byte[4];
  for (size_t i = 0; i < data.size(); ++i) {
    std::snprintf(byte, sizeof byte, "%s%02x", i ? " " : "", data[i]);
    out += byte;
  }
  return out;
}

std::string Integer(uint64_t v) { return std::to_string(v); }

}  // namespace

std::string ElementName(uint32_t id, uint32_t object_type) {
  uint32_t application_type = object_type & 0x000fffff;
  bool is_application = (object_type >> 28) == 1;
  if (is_application && application_type == 2) {
    if (auto it = BootManagerNames().find(id); it != BootManagerNames().end()) return it->second;
  }
  // OS loaders, and the settings objects they inherit from.
  if ((is_application && application_type == 3) || object_type == 0x20200003) {
    if (auto it = OsLoaderNames().find(id); it != OsLoaderNames().end()) return it->second;
  }
  if (object_type == object_types::kResume && id == 0x22000002) return "filepath";
  if (object_type == object_types::kResume && id == 0x21000001) return "filedevice";
  if (auto it = CommonNames().find(id); it != CommonNames().end()) return it->second;
  char name[20];
  std::snprintf(name, sizeof name, "custom:%08x", id);
  return name;
}

std::string ObjectTypeName(uint32_t type) {
  switch (type) {
    case 0x10100001:
      return "Firmware Boot Manager";
    case 0x10100002:
      return "Windows Boot Manager";
    case 0x101fffff:
      return "Firmware Application";
    case 0x10200003:
      return "Windows Boot Loader";
    case 0x10200004:
      return "Resume from Hibernate";
    case 0x10200005:
      return "Windows Memory Tester";
    case 0x10300006:
      return "Windows Legacy OS Loader";
    case 0x10400008:
      return "Boot Sector";
    case 0x20100000:
      return "Inheritable settings";
    case 0x20200003:
      return "OS loader settings";
    case 0x20200004:
      return "Resume loader settings";
    case 0x30000000:
      return "Device options";
    default: {
      char text[16];
      std::snprintf(text, sizeof text, "0x%08x", type);
      return text;
    }
  }
}

DescribedElement DescribeElement(uint32_t id, uint32_t object_type, const Element& element) {
  DescribedElement out;
  out.id = id;
  out.name = ElementName(id, object_type);
  const auto& data = element.data;
  switch (FormatOf(id)) {
    case ElementFormat::kDevice: {
      out.format = "device";
      auto device = DecodeDevice(data);
      out.text = device ? FormatDevice(*device) : "undecodable device: " + Hex(data);
      break;
    }
    case ElementFormat::kString:
      out.format = "string";
      out.text = DecodeString(data);
      break;
    case ElementFormat::kObject: {
      out.format = "object";
      std::string text = DecodeString(data);
      auto guid = Guid::Parse(text);
      out.text = guid ? DisplayName(*guid) : text;
      break;
    }
    case ElementFormat::kObjectList:
      out.format = "objectlist";
      for (const auto& text : DecodeMultiString(data)) {
        auto guid = Guid::Parse(text);
        out.list.push_back(guid ? DisplayName(*guid) : text);
      }
      for (const auto& item : out.list) out.text += (out.text.empty() ? "" : " ") + item;
      break;
    case ElementFormat::kInteger:
      out.format = "integer";
      out.text = Integer(DecodeInteger(data));
      break;
    case ElementFormat::kBoolean:
      out.format = "boolean";
      out.text = DecodeInteger(data) ? "Yes" : "No";
      break;
    case ElementFormat::kIntegerList:
      out.format = "integerlist";
      for (size_t off = 0; off + 8 <= data.size(); off += 8) {
        out.list.push_back(Integer(DecodeInteger({data.begin() + off, data.begin() + off + 8})));
      }
      for (const auto& item : out.list) out.text += (out.text.empty() ? "" : " ") + item;
      break;
    case ElementFormat::kUnknown:
      out.format = "unknown";
      out.text = Hex(data);
      break;
  }
  return out;
}

}  // namespace lifeboat::bcd
