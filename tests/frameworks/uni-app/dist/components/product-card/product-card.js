/**
 * What the uni-app CLI (3.0.0-4080720251210001, Vue 3, mp-weixin) emits as
 * `components/product-card/product-card.js` for the component below (template to
 * product-card.wxml: `<view id="{{a}}" class="md-expose" data-md-sku="{{b}}" bindtap="{{c}}">
 * {{b}} {{d}}</view>`).
 *
 * components/product-card/product-card.vue:
 *   <template>
 *     <view :id="'card-' + sku" class="md-expose" :data-md-sku="sku" @tap="onPick">{{ sku }} {{ picked }}</view>
 *   </template>
 *   <script>
 *   export default {
 *     props: { sku: String },
 *     data () { return { picked: 0 } },
 *     mounted () { hostLog.push(['ProductCard.mounted', this.sku]) },
 *     methods: {
 *       onPick (e) { hostLog.push(['ProductCard.onPick', this.sku, e.currentTarget.id]); this.picked += 1 },
 *     },
 *   }
 *   </script>
 */
'use strict';

const common_vendor = require('../../common/vendor.js');

const _sfc_main = {
  props: { sku: String },
  data() {
    return { picked: 0 };
  },
  mounted() {
    hostLog.push(['ProductCard.mounted', this.sku]);
  },
  methods: {
    onPick(e) {
      hostLog.push(['ProductCard.onPick', this.sku, e.currentTarget.id]);
      this.picked += 1;
    },
  },
};
function _sfc_render(_ctx, _cache, $props, $setup, $data, $options) {
  return {
    a: 'card-' + $props.sku,
    b: common_vendor.t($props.sku),
    c: common_vendor.o((...args) => $options.onPick && $options.onPick(...args)),
    d: common_vendor.t($data.picked),
  };
}
const Component = /* @__PURE__ */ common_vendor._export_sfc(_sfc_main, [
  ['render', _sfc_render],
]);
wx.createComponent(Component);
