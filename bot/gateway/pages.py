"""The demo shop's pages (index, product, order) with the chat widget embedded by one tag."""

from __future__ import annotations

from html import escape
from pathlib import Path
from string import Template
from typing import Any, Awaitable, Callable, Optional

from sanic import Sanic, response
from sanic.request import Request

from bot.settings import Settings
from bot.shop.identity import issue_buyer_token

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def widget_tag(gateway: str, token: Optional[str], product_id: Optional[str]) -> str:
    attributes = [f'src="{escape(gateway)}/widget/widget.js"', f'data-gateway="{escape(gateway)}"']
    if token:
        attributes.append(f'data-buyer-token="{escape(token)}"')
    if product_id:
        attributes.append(f'data-product-id="{escape(product_id)}"')
    return f"<script {' '.join(attributes)} defer></script>"


RunDb = Callable[..., Awaitable[Any]]


def register_pages(app: Sanic, settings: Settings, strings: dict, orders, run_db: RunDb, demo: bool = False) -> None:
    """The catalogue's product images always; the demo shop's pages, whose ?buyer=B001 signs a
    token for any buyer without a login, only with ``demo`` (QKF_DEMO_SHOP, never in production).
    ``orders`` is the shop's order repository, read through ``run_db`` (off the event loop)."""
    register_product_images(app, orders, run_db)
    if demo:
        register_demo_shop(app, settings, strings, orders, run_db)


def register_demo_shop(app: Sanic, settings: Settings, strings: dict, orders, run_db: RunDb) -> None:
    layout = _template("layout.html")
    product_page = _template("product.html")
    order_page = _template("order.html")
    index_page = _template("index.html")

    def gateway_url(request: Request) -> str:
        return f"{request.scheme}://{request.host}"

    async def demo_buyer(request: Request):
        """The demo shop signs the logged-in buyer's token; ?buyer=B001 logs in a demo buyer."""
        buyer_id = request.args.get("buyer")
        buyer = await run_db(orders.get_buyer, buyer_id) if buyer_id else None
        if buyer is None:
            return None, None
        return buyer, issue_buyer_token(settings.buyer_token_secret, buyer.id)

    async def page(request: Request, title: str, body: str, product_id: Optional[str] = None):
        buyer, token = await demo_buyer(request)
        banner = escape(f"{buyer.name} ({buyer.id})") if buyer else ""
        html = layout.substitute(
            title=escape(title), body=body, buyer_banner=banner, widget=widget_tag(gateway_url(request), token, product_id)
        )
        return response.html(html)

    async def login_suffix(request: Request) -> str:
        buyer_id = request.args.get("buyer")
        return f"?buyer={escape(buyer_id)}" if buyer_id and await run_db(orders.get_buyer, buyer_id) else ""

    @app.get("/")
    async def index(request: Request):
        suffix = await login_suffix(request)
        products = await run_db(orders.list_products)
        cards = "".join(
            f'<div class="card"><a href="/shop/product/{escape(p.id)}{suffix}"><img src="/shop/image/{escape(p.id)}.svg" alt="{escape(p.name)}">'
            f'<div>{escape(p.name)}</div></a><div class="price">¥{p.lowest_price:g}</div></div>'
            for p in products
        )
        return await page(request, strings["home_title"], index_page.substitute(products=cards))

    @app.get("/shop/product/<product_id>")
    async def product(request: Request, product_id: str):
        found = await run_db(orders.get_product, product_id)
        if found is None:
            return response.html(f"<h1>404</h1><p>{escape(strings['not_found'])}</p>", status=404)
        rows = "".join(
            f"<tr><td>{escape(s.color)}</td><td>{escape(s.size)}</td><td>¥{s.price:g}</td>"
            f"<td>{escape(strings['in_stock'] if s.in_stock else strings['out_of_stock'])}</td></tr>"
            for s in found.skus
        )
        body = product_page.substitute(
            product_id=escape(found.id),
            name=escape(found.name),
            price=f"{found.lowest_price:g}",
            material=escape(found.material),
            features=escape(found.features),
            care=escape(found.care),
            skus=rows,
        )
        return await page(request, found.name, body, product_id=found.id)

    @app.get("/shop/order/<order_id>")
    async def order(request: Request, order_id: str):
        buyer, _ = await demo_buyer(request)
        found = await run_db(orders.get_order, order_id)
        if found is None or buyer is None or found.buyer_id != buyer.id:
            return response.html(f"<h1>404</h1><p>{escape(strings['order_not_found'])}</p>", status=404)

        def product_names():
            return {i.product_id: getattr(orders.get_product(i.product_id), "name", i.product_id) for i in found.items}

        names = await run_db(product_names)
        items = "".join(
            f"<tr><td>{escape(names[i.product_id])}</td>"
            f"<td>{escape(i.color)} {escape(i.size)}</td><td>{i.qty}</td><td>¥{i.unit_price:g}</td></tr>"
            for i in found.items
        )
        tracking = "".join(f"<li>{escape(e.description)}</li>" for e in reversed(found.tracking))
        body = order_page.substitute(
            order_id=escape(found.id),
            status=escape(strings["order_states"].get(found.status, found.status)),
            courier=escape(found.courier or "-"),
            tracking_no=escape(found.tracking_no or "-"),
            items=items,
            tracking=tracking or "<li>-</li>",
        )
        return await page(request, strings["order_title"].format(order_id=found.id), body)


def register_product_images(app: Sanic, orders, run_db: RunDb) -> None:

    # Sanic types a route decorator's result as (route, handler), so a second decorator looks wrong to mypy.
    @app.get("/static/products/<filename>", name="catalogue_image")  # type: ignore[arg-type]
    @app.get("/shop/image/<filename>")
    async def product_image(_: Request, filename: str):
        product_id = filename[: -len(".svg")] if filename.endswith(".svg") else filename
        found = await run_db(orders.get_product, product_id)
        label = escape(found.name if found else "?")
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240">'
            '<rect width="320" height="240" fill="#fde7d9"/>'
            f'<text x="160" y="130" font-size="28" text-anchor="middle" fill="#7c2d12">{label}</text></svg>'
        )
        return response.text(svg, content_type="image/svg+xml")
