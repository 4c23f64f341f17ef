import { defineConfig } from "vite";

// Relative asset paths: the built app works from any directory or server.
export default defineConfig({ base: "./", build: { outDir: "dist", emptyOutDir: true } });
