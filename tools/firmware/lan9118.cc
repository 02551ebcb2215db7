#include "tools/firmware/lan9118.h"

namespace pollstack::firmware {

// The chip's driver, compiled here once (lan9118.h declares it extern).
template class BasicLan9118<volatile Lan9118Registers>;

}  // namespace pollstack::firmware
