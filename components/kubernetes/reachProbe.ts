/**
 * How a request went, sorted into the causes the diagnosis tells apart (transport.ts classifyRequestError). Plain
 * data, apart from transport.ts so the declarations of what returns it need no client-node types.
 */
/** How a request with the kubeconfig KubeSphere got (or will get) went, from the machine running Pulumi. */
export type ReachProbe =
    | { ok: true }
    | {
          ok: false;
          kind: "refused" | "timeout" | "dns" | "san" | "ca" | "tls" | "unauthorized" | "other";
          detail: string;
      };
