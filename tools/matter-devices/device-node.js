// Shared part of zshub's virtual Matter devices (matter.js 0.17): the command line, the Matter
// node, and the control channel on stdin through which tests change state "by hand".
//
// Command line (matter.js's own variable syntax, so matter.js reads the storage path itself):
//   node <device>.js --passcode=20202021 --discriminator=3840 --port=5540 --storage-path=DIR
//                    [--name=LABEL] [--log-level=warn]
// stdout, one line each:
//   pairing-code 34970112332      the 11-digit manual pairing code
//   ready                         the node is announced and can be commissioned
//   @state {...}                  the device's state, after every change and every command
//   @ok <command> / @error <text> the answer to each control line
// stdin: one control command a line (each device lists its own); "state" prints the state,
// "quit" closes the node (EOF does too).

import { Environment, Logger, ServerNode, VendorId } from "@matter/main";
import { createInterface } from "node:readline";

const env = Environment.default;

/** The numeric option `name` (matter.js parsed `--name=value` from argv), or `fallback`. */
export function numberOption(name, fallback) {
    return env.vars.number(name) ?? fallback;
}

/** Print one protocol line; logs go to stderr so stdout stays machine-readable. */
export function say(line) {
    process.stdout.write(`${line}\n`);
}

/**
 * Create, start and control one device.
 * - `deviceType`, `productName`, `productId`: what the node announces (vendor 0xFFF1 = test vendor,
 *   matching matter.js's test attestation certificates, which the "Matter Test PAA" signs).
 * - `endpoint`: the device's application endpoint (an `Endpoint` not yet added).
 * - `snapshot(endpoint)`: the state to print as `@state`.
 * - `watch(endpoint, changed)`: subscribe `changed` to the attributes `snapshot` reads.
 * - `commands`: `{name: async (endpoint, args) => void}`, the device-side control commands.
 */
export async function runDevice({ deviceType, productName, productId, endpoint, snapshot, watch, commands }) {
    // Quiet by default: the tests read stdout; matter.js logs (to stderr) only what matters.
    Logger.level = env.vars.string("log.level") ?? "warn";
    Logger.destinations.default.write = text => process.stderr.write(`${text}\n`);

    const passcode = numberOption("passcode", 20202021);
    const discriminator = numberOption("discriminator", 3840);
    const port = numberOption("port", 5540);
    const label = env.vars.string("name") ?? productName;

    const node = await ServerNode.create({
        id: "device",
        network: { port },
        commissioning: { passcode, discriminator },
        productDescription: { name: label, deviceType },
        basicInformation: {
            vendorName: "zshub test",
            vendorId: VendorId(0xfff1),
            productName,
            productLabel: productName,
            productId,
            nodeLabel: label,
            serialNumber: `SN-${productId.toString(16)}-${discriminator}`,
            uniqueId: `zshub-${productId.toString(16)}-${discriminator}`,
        },
    });
    await node.add(endpoint);

    const print = () => say(`@state ${JSON.stringify(snapshot(endpoint))}`);
    watch(endpoint, print);

    await node.start();
    say(`pairing-code ${node.state.commissioning.pairingCodes.manualPairingCode}`);
    say("ready");

    let closing = false;
    const close = async () => {
        if (closing) return;
        closing = true;
        await node.close();
        process.exit(0);
    };
    process.on("SIGTERM", close);
    process.on("SIGINT", close);

    // Control lines run one after another: a test's "toggle" then "state" see them in order.
    const lines = createInterface({ input: process.stdin });
    let queue = Promise.resolve();
    lines.on("line", line => {
        queue = queue.then(() => control(line.trim()));
    });
    lines.on("close", () => {
        queue = queue.then(close);
    });

    async function control(line) {
        if (!line) return;
        const [name, ...args] = line.split(/\s+/);
        try {
            if (name === "quit") {
                say("@ok quit");
                await close();
                return;
            }
            if (name !== "state") {
                const run = commands[name];
                if (run === undefined) {
                    throw new Error(`unknown command ${name}; known: ${Object.keys(commands).join(", ")}, state, quit`);
                }
                await run(endpoint, args);
            }
            say(`@ok ${name}`);
            print();
        } catch (error) {
            say(`@error ${name}: ${error instanceof Error ? error.message : String(error)}`);
        }
    }
}

/** Parse an integer argument within [min, max] or throw a readable error. */
export function intArg(args, index, what, min, max) {
    const value = Number(args[index]);
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(`${what} must be an integer in ${min}..${max}, got ${args[index] ?? "nothing"}`);
    }
    return value;
}
