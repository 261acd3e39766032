// A virtual Matter On/Off Light (device type 0x0100). Control lines: on, off, toggle.
// Usage: node onoff-light.js --passcode=N --discriminator=N --port=N --storage-path=DIR

import { DeviceTypeId, Endpoint } from "@matter/main";
import { OnOffLightDevice } from "@matter/main/devices";
import { runDevice } from "./device-node.js";

const endpoint = new Endpoint(OnOffLightDevice, { id: "light", onOff: { onOff: false } });

await runDevice({
    deviceType: DeviceTypeId(OnOffLightDevice.deviceType),
    productName: "zshub On/Off Light",
    productId: 0x8001,
    endpoint,
    snapshot: ep => ({ on: ep.state.onOff.onOff }),
    watch: (ep, changed) => ep.events.onOff.onOff$Changed.on(changed),
    commands: {
        // A person at the wall switch: a local change the controller learns through its subscription.
        on: ep => ep.set({ onOff: { onOff: true } }),
        off: ep => ep.set({ onOff: { onOff: false } }),
        toggle: ep => ep.set({ onOff: { onOff: !ep.state.onOff.onOff } }),
    },
});
