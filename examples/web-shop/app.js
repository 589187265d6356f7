// The tea shop as a small single-page app: the same flow as examples/miniprogram-shop (home →
// list → detail → cart → pay-success) with history.pushState navigation, so every route change
// is a page view. maidian tracks page views, clicks on buttons, links and `data-md-*` elements,
// and exposure of `.md-expose` elements by itself; the shop only calls `init`, `consent.*` and
// `track` for its business events (`add_to_cart`, `begin_checkout`, `pay_success`).
import md from 'maidian';
import { bySku, categories, inCategory, products } from './catalog.js';
import config from './config.js';

md.init({
  serverUrl: config.serverUrl,
  writeKey: config.writeKey,
  // Nothing is stored or sent until the visitor agrees (the banner on the home page).
  consent: 'pending',
  ...config.options,
});

const CONSENT_ASKED = 'shop:consent-asked';
const cart = [];
let lastOrder = null;
const app = document.getElementById('app');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function updateCartCount() {
  document.getElementById('cart-count').textContent = String(cart.length);
}

const pages = {
  '/': () => {
    const ask = !localStorage.getItem(CONSENT_ASKED);
    return `
      ${
        ask
          ? `<div class="consent" id="consent">
              We use analytics to improve the shop. Nothing is collected unless you agree.
              <button id="consent-decline">Decline</button>
              <button id="consent-accept">Agree</button>
            </div>`
          : ''
      }
      <div class="categories">
        ${categories
          .map(
            (c) =>
              `<a class="category" id="cat-${c.id}" href="/list?category=${c.id}" data-md-category="${c.id}">${esc(c.name)}</a>`,
          )
          .join('')}
      </div>
      <h2>Recommended</h2>
      <div class="grid">
        ${products
          .slice(0, 4)
          .map(
            (p, i) =>
              `<a class="card md-expose" id="rec-${p.sku}" href="/detail?sku=${p.sku}&from=home"
                  data-md-key="home-rec-${p.sku}" data-md-sku="${p.sku}" data-md-slot="${i}">
                <span class="name">${esc(p.name)}</span><span class="price">¥${p.price}</span>
              </a>`,
          )
          .join('')}
      </div>`;
  },
  '/list': (q) => {
    const category = q.get('category') || 'tea';
    return `<h2>${esc(category)}</h2>
      <div class="list">
        ${inCategory(category)
          .map(
            (p, i) =>
              `<a class="row md-expose" id="item-${p.sku}" href="/detail?sku=${p.sku}&from=list"
                  data-md-key="list-${category}-${p.sku}" data-md-sku="${p.sku}" data-md-position="${i}">
                <span class="name">${esc(p.name)}</span><span class="price">¥${p.price}</span>
              </a>`,
          )
          .join('')}
      </div>`;
  },
  '/detail': (q) => {
    const p = bySku(q.get('sku'));
    if (!p) return '<p class="missing">This product is no longer available.</p>';
    return `<div class="detail" data-sku="${p.sku}" data-from="${esc(q.get('from') || '')}">
        <h2>${esc(p.name)}</h2><span class="price">¥${p.price}</span>
        <div class="qty">
          <button id="qty-minus">-</button><span id="qty">1</span><button id="qty-plus">+</button>
        </div>
        <button id="add-to-cart" data-md-sku="${p.sku}">Add to cart</button>
        <a id="go-cart" href="/cart">Go to cart</a>
      </div>`;
  },
  '/cart': () => {
    const total = cart.reduce((s, l) => s + l.price * l.quantity, 0);
    return `<div class="cart">
        ${cart.map((l) => `<div class="line">${esc(l.name)} × ${l.quantity} ¥${l.price * l.quantity}</div>`).join('')}
        ${cart.length ? '' : '<p class="empty">Your cart is empty.</p>'}
        <p class="total">Total ¥${total}</p>
        <button id="pay" ${cart.length ? '' : 'disabled'}>Pay</button>
      </div>`;
  },
  '/pay-success': () =>
    `<h2>Thank you!</h2><p>Order <span id="order-id">${esc(lastOrder?.order_id || '')}</span> is paid.</p>
     <a id="back-home" href="/">Back to the shop</a>`,
};

function render() {
  const page = pages[location.pathname] || pages['/'];
  app.innerHTML = page(new URLSearchParams(location.search));
  updateCartCount();
  window.scrollTo(0, 0);
}

function navigate(url, replace = false) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

// In-app links: pushState instead of a page load (maidian reports each route as a page view).
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href^="/"]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});

app.addEventListener('click', (e) => {
  const id = e.target.closest('button')?.id;
  if (!id) return;
  if (id === 'consent-accept' || id === 'consent-decline') {
    localStorage.setItem(CONSENT_ASKED, '1');
    if (id === 'consent-accept') md.consent.grant();
    else md.consent.deny();
    document.getElementById('consent')?.remove();
  } else if (id === 'qty-plus' || id === 'qty-minus') {
    const el = document.getElementById('qty');
    const n = Number(el.textContent) + (id === 'qty-plus' ? 1 : -1);
    el.textContent = String(Math.max(1, n));
  } else if (id === 'add-to-cart') {
    const detail = e.target.closest('.detail');
    const p = bySku(detail.dataset.sku);
    const quantity = Number(document.getElementById('qty').textContent);
    const line = cart.find((l) => l.sku === p.sku);
    if (line) line.quantity += quantity;
    else cart.push({ sku: p.sku, name: p.name, price: p.price, quantity });
    // Code-tracked business event, declared by the product team.
    md.track('add_to_cart', {
      sku: p.sku,
      category: p.category,
      price: p.price,
      quantity,
      from: detail.dataset.from,
    });
    updateCartCount();
  } else if (id === 'pay') {
    if (!cart.length) return;
    const amount = cart.reduce((s, l) => s + l.price * l.quantity, 0);
    md.track('begin_checkout', { amount, item_count: cart.length });
    // A real shop calls its backend and a payment provider here; the example pays at once.
    lastOrder = {
      order_id: `o-${Date.now().toString(36)}`,
      amount,
      items: cart.map((l) => l.sku),
    };
    md.track('pay_success', {
      order_id: lastOrder.order_id,
      amount,
      item_count: cart.length,
      skus: lastOrder.items,
    });
    cart.length = 0;
    // Like wx.redirectTo: the cart page is replaced in the history.
    navigate(`/pay-success?order=${lastOrder.order_id}`, true);
  }
});

window.addEventListener('popstate', render);
render();
