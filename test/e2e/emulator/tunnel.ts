/**
 * The tunnel between the emulated agent and the emulated tower. TEST ONLY.
 *
 * Real tower is a WebSocket (`Sec-WebSocket-Protocol: kubesphere-v1`) carrying SSH: the agent sends an SSH request
 * `config` ({Version, Name, Token, KubernetesSvcHost, KubeSphereSvcHost, CAData, BearerToken}), tower answers or
 * refuses with "Unauthorized agent", then opens one SSH channel per proxied connection (docs/kubesphere.md §10.2). This is a
 * simpler multiplexed tunnel with the same shape: an HTTP/1.1 Upgrade (`Upgrade: kubesphere-v1`) on tower's port,
 * then frames over the one TCP connection — a config request and its answer, then channels that each carry one
 * TCP connection the agent opens on tower's behalf. Frame: type (1 byte), channel id (4), length (4), payload.
 */
import * as net from "net";
import { Duplex } from "stream";

export const TUNNEL_PROTOCOL = "kubesphere-v1";

export enum FrameType {
    /** agent → tower: the config JSON. */
    Config = 0,
    /** tower → agent: "ok", or why not (e.g. "Unauthorized agent"). */
    ConfigReply = 1,
    /** tower → agent: open a channel to the named service ("kubernetes" or "kubesphere"). */
    Open = 2,
    Data = 3,
    /** Either side: no more data on this channel. */
    Close = 4,
}

/** What the agent sends first, as tower's agent does (field names as tower's JSON). */
export interface AgentConfig {
    Version: string;
    Name: string;
    Token: string;
    KubernetesSvcHost: string;
    KubeSphereSvcHost: string;
    /** base64 PEM of the member API server's CA (in a pod: the ServiceAccount's ca.crt). */
    CAData: string;
    /** The agent's ServiceAccount token (secret): tower puts it in every proxied request. */
    BearerToken: string;
}

const HEADER = 9;

/** One channel: a Duplex whose bytes travel as Data frames. */
class Channel extends Duplex {
    constructor(
        private readonly tunnel: Tunnel,
        readonly id: number,
    ) {
        super();
    }

    _read(): void {}

    _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
        this.tunnel.send(FrameType.Data, this.id, chunk);
        callback();
    }

    _final(callback: (error?: Error | null) => void): void {
        this.tunnel.send(FrameType.Close, this.id);
        callback();
    }

    _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
        this.tunnel.forget(this.id);
        callback(error);
    }
}

/** Frames over one socket; either side can open channels (here only tower does). */
export class Tunnel {
    private buffer = Buffer.alloc(0);
    private readonly channels = new Map<number, Channel>();
    private nextId = 1;
    private closed = false;
    /** A frame that is not channel data: Config, ConfigReply, Open. */
    onControl: (type: FrameType, id: number, payload: Buffer) => void = () => undefined;
    onClose: () => void = () => undefined;

    constructor(readonly socket: net.Socket) {
        socket.on("data", (data: Buffer) => this.receive(data));
        const close = () => {
            if (this.closed) return;
            this.closed = true;
            for (const channel of this.channels.values()) channel.destroy();
            this.channels.clear();
            this.onClose();
        };
        socket.on("close", close);
        socket.on("error", () => socket.destroy());
    }

    /** Bytes that arrived with the upgrade, before the socket was handed over. */
    feed(data: Buffer): void {
        this.receive(data);
    }

    get isClosed(): boolean {
        return this.closed;
    }

    send(type: FrameType, id: number, payload: Buffer = Buffer.alloc(0)): void {
        if (this.closed) return;
        const header = Buffer.alloc(HEADER);
        header.writeUInt8(type, 0);
        header.writeUInt32BE(id, 1);
        header.writeUInt32BE(payload.length, 5);
        this.socket.write(Buffer.concat([header, payload]));
    }

    /** Opens a channel to `service` on the other side. */
    open(service: string): Duplex {
        const channel = this.channel(this.nextId++);
        this.send(FrameType.Open, channel.id, Buffer.from(service));
        return channel;
    }

    /** The channel for an id the other side opened. */
    accept(id: number): Duplex {
        return this.channel(id);
    }

    close(): void {
        this.socket.destroy();
    }

    /** @internal */
    forget(id: number): void {
        this.channels.delete(id);
    }

    private channel(id: number): Channel {
        const channel = new Channel(this, id);
        this.channels.set(id, channel);
        return channel;
    }

    private receive(data: Buffer): void {
        this.buffer = Buffer.concat([this.buffer, data]);
        while (this.buffer.length >= HEADER) {
            const length = this.buffer.readUInt32BE(5);
            if (this.buffer.length < HEADER + length) return;
            const type = this.buffer.readUInt8(0) as FrameType;
            const id = this.buffer.readUInt32BE(1);
            const payload = this.buffer.subarray(HEADER, HEADER + length);
            this.buffer = this.buffer.subarray(HEADER + length);
            if (type === FrameType.Data) {
                this.channels.get(id)?.push(Buffer.from(payload));
            } else if (type === FrameType.Close) {
                this.channels.get(id)?.push(null);
            } else {
                this.onControl(type, id, Buffer.from(payload));
            }
        }
    }
}
