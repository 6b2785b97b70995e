import { randomInt } from "crypto";

const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A random alphanumeric string, e.g. a 32-character KubeSphere jwtSecret or an API token. Secret: never log it. */
export function randomAlphanumeric(length: number): string {
    let text = "";
    for (let i = 0; i < length; i++) {
        text += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
    }
    return text;
}
