/**
 * What the uni-app CLI (3.0.0-4080720251210001, Vue 3, mp-weixin) emits as
 * `pages/index/index.js` for the page below (the template goes to index.wxml:
 * `<view class="page"><view id="tea-1" class="card md-expose" data-md-sku="TEA-1" bindtap="{{a}}">
 * Tea {{b}}</view><product-card u-i="3d1b2a10-0" bind:__l="__l" u-p="{{c}}"/></view>`, and
 * index.json gets `usingComponents: { "product-card": "/components/product-card/product-card" }`):
 * `a` is the NAME of the event invoker that `o()` installs on the page instance at render time,
 * `c` the id of the child's props in Vue's props cache (`p()`).
 *
 * pages/index/index.vue:
 *   <template>
 *     <view class="page">
 *       <view id="tea-1" class="card md-expose" data-md-sku="TEA-1" @tap="onAdd">Tea {{ added }}</view>
 *       <product-card sku="TEA-2" />
 *     </view>
 *   </template>
 *   <script>
 *   import md from 'maidian/miniprogram'
 *   import ProductCard from '../../components/product-card/product-card.vue'
 *   export default {
 *     components: { ProductCard },
 *     data () { return { added: 0 } },
 *     onLoad (query) { hostLog.push(['Index.onLoad', query.from]) },
 *     onShow () { hostLog.push(['Index.onShow']) },
 *     onHide () { hostLog.push(['Index.onHide']) },
 *     onShareAppMessage () { return { title: 'Tea', path: '/pages/index/index?sku=TEA-1' } },
 *     methods: {
 *       onAdd (e) {
 *         hostLog.push(['Index.onAdd', e.currentTarget.id])
 *         this.added += 1
 *         md.track('add_to_cart', { sku: 'TEA-1', quantity: 1 })
 *         return 'added:TEA-1'
 *       },
 *     },
 *   }
 *   </script>
 */
'use strict';

const common_vendor = require('../../common/vendor.js');

const ProductCard = () => '../../components/product-card/product-card.js';
if (!Math) {
  ProductCard();
}
const _sfc_main = {
  data() {
    return { added: 0 };
  },
  onLoad(query) {
    hostLog.push(['Index.onLoad', query.from]);
  },
  onShow() {
    hostLog.push(['Index.onShow']);
  },
  onHide() {
    hostLog.push(['Index.onHide']);
  },
  onShareAppMessage() {
    return { title: 'Tea', path: '/pages/index/index?sku=TEA-1' };
  },
  methods: {
    onAdd(e) {
      hostLog.push(['Index.onAdd', e.currentTarget.id]);
      this.added += 1;
      common_vendor.md.track('add_to_cart', { sku: 'TEA-1', quantity: 1 });
      return 'added:TEA-1';
    },
  },
};
function _sfc_render(_ctx, _cache, $props, $setup, $data, $options) {
  return {
    a: common_vendor.o((...args) => $options.onAdd && $options.onAdd(...args)),
    b: common_vendor.t($data.added),
    c: common_vendor.p({ sku: 'TEA-2' }),
  };
}
const MiniProgramPage = /* @__PURE__ */ common_vendor._export_sfc(_sfc_main, [
  ['render', _sfc_render],
]);
wx.createPage(MiniProgramPage);
