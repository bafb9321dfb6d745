import { useEffect } from "react";

const PRODUCT = "Ameide Threads";

/** The tab's title: what the page shows, then the product (the product alone while nothing is named). */
export function useDocumentTitle(name: string | undefined): void {
  useEffect(() => {
    document.title = name ? `${name} · ${PRODUCT}` : PRODUCT;
  }, [name]);
}
