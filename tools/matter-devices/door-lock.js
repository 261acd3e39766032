// A virtual Matter Door Lock (device type 0x000A) with a door position sensor.
// Control lines (a person at the door): lock, unlock (by hand: LockOperation event with source
// Manual), door open|closed (DoorStateChange event), jam (DoorLockAlarm LockJammed).
// Remote lock/unlock arrive as (timed) commands from the controller; matter.js's DoorLockServer
// handles them and emits LockOperation with source Remote.
// Usage: node door-lock.js --passcode=N --discriminator=N --port=N --storage-path=DIR

import { DeviceTypeId, Endpoint } from "@matter/main";
import { DoorLockServer } from "@matter/main/behaviors/door-lock";
import { DoorLock } from "@matter/main/clusters/door-lock";
import { DoorLockDevice } from "@matter/main/devices";
import { runDevice } from "./device-node.js";

const { LockState, DoorState, LockOperationType, OperationSource, AlarmCode } = DoorLock;

const DOOR_STATES = { open: DoorState.DoorOpen, closed: DoorState.DoorClosed };

const endpoint = new Endpoint(DoorLockDevice.with(DoorLockServer.with(DoorLock.Feature.DoorPositionSensor, DoorLock.Feature.PinCredential)), {
    id: "lock",
    doorLock: {
        lockState: LockState.Locked,
        lockType: DoorLock.LockType.DeadBolt,
        actuatorEnabled: true,
        doorState: DoorState.DoorClosed,
        operatingMode: DoorLock.OperatingMode.Normal,
        // Without these two, DoorLockServer 0.17.9 refuses to start.
        wrongCodeEntryLimit: 3,
        userCodeTemporaryDisableTime: 10,
    },
});

/** Change the lock state by hand and tell the controllers (LockOperation, source Manual). */
async function manual(ep, lockState, lockOperationType) {
    await ep.act(agent => {
        const lock = agent.get(DoorLockServer);
        lock.state.lockState = lockState;
        lock.events.lockOperation.emit(
            {
                lockOperationType,
                operationSource: OperationSource.Manual,
                userIndex: null,
                fabricIndex: null,
                sourceNode: null,
                credentials: null,
            },
            agent.context,
        );
    });
}

await runDevice({
    deviceType: DeviceTypeId(DoorLockDevice.deviceType),
    productName: "zshub Door Lock",
    productId: 0x8003,
    endpoint,
    snapshot: ep => ({
        locked: ep.state.doorLock.lockState === LockState.Locked,
        lockState: ep.state.doorLock.lockState,
        doorState: ep.state.doorLock.doorState,
    }),
    watch: (ep, changed) => {
        ep.events.doorLock.lockState$Changed.on(changed);
        ep.events.doorLock.doorState$Changed.on(changed);
    },
    commands: {
        lock: ep => manual(ep, LockState.Locked, LockOperationType.Lock),
        unlock: ep => manual(ep, LockState.Unlocked, LockOperationType.Unlock),
        // DoorLockServer emits DoorStateChange itself when doorState changes.
        door: (ep, args) => {
            const doorState = DOOR_STATES[args[0]];
            if (doorState === undefined) throw new Error("door takes open or closed");
            return ep.set({ doorLock: { doorState } });
        },
        jam: ep =>
            ep.act(agent => {
                const lock = agent.get(DoorLockServer);
                lock.state.lockState = LockState.NotFullyLocked;
                lock.events.doorLockAlarm.emit({ alarmCode: AlarmCode.LockJammed }, agent.context);
            }),
    },
});
