// A virtual Matter Color Temperature Light (device type 0x010C): on/off, level 1-254 and colour
// temperature 153-500 mireds (6535-2000 K).
// Control lines (raw Matter units, as a device sees them): on, off, toggle, level <1-254>,
// mireds <153-500>.
// Usage: node ct-light.js --passcode=N --discriminator=N --port=N --storage-path=DIR

import { DeviceTypeId, Endpoint } from "@matter/main";
import { ColorTemperatureLightDevice } from "@matter/main/devices";
import { intArg, runDevice } from "./device-node.js";

const MIN_MIREDS = 153;
const MAX_MIREDS = 500;

const endpoint = new Endpoint(ColorTemperatureLightDevice, {
    id: "ct-light",
    onOff: { onOff: false },
    levelControl: { currentLevel: 127, minLevel: 1, maxLevel: 254 },
    colorControl: {
        colorMode: 2, // ColorTemperatureMireds
        enhancedColorMode: 2,
        colorTemperatureMireds: 370,
        colorTempPhysicalMinMireds: MIN_MIREDS,
        colorTempPhysicalMaxMireds: MAX_MIREDS,
        coupleColorTempToLevelMinMireds: MIN_MIREDS,
        startUpColorTemperatureMireds: null,
    },
});

await runDevice({
    deviceType: DeviceTypeId(ColorTemperatureLightDevice.deviceType),
    productName: "zshub CT Light",
    productId: 0x8002,
    endpoint,
    snapshot: ep => ({
        on: ep.state.onOff.onOff,
        level: ep.state.levelControl.currentLevel,
        mireds: ep.state.colorControl.colorTemperatureMireds,
    }),
    watch: (ep, changed) => {
        ep.events.onOff.onOff$Changed.on(changed);
        ep.events.levelControl.currentLevel$Changed.on(changed);
        ep.events.colorControl.colorTemperatureMireds$Changed.on(changed);
    },
    commands: {
        on: ep => ep.set({ onOff: { onOff: true } }),
        off: ep => ep.set({ onOff: { onOff: false } }),
        toggle: ep => ep.set({ onOff: { onOff: !ep.state.onOff.onOff } }),
        level: (ep, args) => ep.set({ levelControl: { currentLevel: intArg(args, 0, "level", 1, 254) } }),
        mireds: (ep, args) =>
            ep.set({ colorControl: { colorTemperatureMireds: intArg(args, 0, "mireds", MIN_MIREDS, MAX_MIREDS) } }),
    },
});
