// Entry point: reads the route from the URL once, then renders the app. The stylesheet is bundled next to the
// script (build.mjs links it from index.html), so the page is styled before it renders.
import "./styles.css";

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App, SigningIn } from "./app/app";
import { parseRoute } from "./app/routes";
import { SessionProvider } from "./app/session-context";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <SessionProvider signingIn={<SigningIn />}>
        <App route={parseRoute(window.location.pathname)} />
      </SessionProvider>
    </StrictMode>,
  );
}
