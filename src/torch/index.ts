// Torch-addon API (filled by the torch-addon work).
export {};
