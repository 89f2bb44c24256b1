"""Deterministic demo data of a Hebei steel plant, built through the real ingestion path.

Called once from demo/env_gate_demo.xml. Seeded, so every install shows the same fleet and
the same 30 days of traffic (relative to the install date), anomalies included.
"""
import base64
import datetime
import io
import random

from odoo import api, fields, models

from ..hj1321 import vin as vin_rules

SEED = 1321
DAYS = 30
CST = datetime.timezone(datetime.timedelta(hours=8))
PREFIXES = ['冀B', '冀B', '冀B', '冀F', '冀J', '冀E', '晋A', '鲁R', '津A']
ALNUM = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ'
FLEETS = ['唐山顺达物流有限公司', '迁安宏远运输有限公司', '冀东钢铁自有车队', '天津港联运输有限公司',
          '个体运输户']
# stage, fuel, share of the fleet
STAGE_MIX = [('6', 'B', 36), ('6', 'E', 8), ('5', 'B', 18), ('5', 'E', 4), ('4', 'B', 9),
             ('3', 'B', 5), ('D', 'C', 14), ('D', 'P', 2)]
YEARS = {'3': (2009, 2012), '4': (2013, 2017), '5': (2017, 2020), '6': (2021, 2025),
         'D': (2021, 2025)}


def _vin(rng, year):
    body = 'LZZ' + ''.join(rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ0123456789') for _ in range(5))
    year_code = 'ABCDEFGHJKLMNPRSTVWXY123456789'[(year - 2010) % 30]
    tail = year_code + rng.choice('ABCDEFGH') + '%06d' % rng.randint(0, 999999)
    partial = body + '0' + tail
    return body + vin_rules.vin_check_digit(partial) + tail


def _plate(rng, electric):
    prefix = rng.choice(PREFIXES)
    if electric and rng.random() < 0.3:  # light new-energy trucks: green plate, D/F first
        return prefix + rng.choice('DF') + rng.choice(ALNUM) + '%04d' % rng.randint(0, 9999), '4'
    if electric:  # heavy new-energy trucks: 5 digits then D/F, yellow-green plate
        return prefix + '%05d' % rng.randint(0, 99999) + rng.choice('DF'), '6'
    return prefix + ''.join(rng.choice(ALNUM) for _ in range(5)), '1'


def _picture(text, color):
    """A small JPEG standing in for a camera snapshot."""
    from PIL import Image, ImageDraw
    image = Image.new('RGB', (320, 180), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle([90, 120, 230, 150], fill=(250, 250, 250))
    draw.text((100, 128), text, fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, 'JPEG', quality=60)
    return out.getvalue()


class EnvGateDemo(models.AbstractModel):
    _name = 'env.gate.demo'
    _description = 'Gate Ledger Demo Data'

    @api.model
    def generate(self):
        rng = random.Random(SEED)
        vehicles = self._make_vehicles(rng)
        self._make_in_plant(rng)
        self._make_machinery(rng)
        loads = self._make_logistics(rng, vehicles)
        self._make_traffic(rng, vehicles)
        self._make_weighings(rng, loads)
        self._make_rail(rng)
        self._make_control(vehicles)
        return True

    def _make_control(self, vehicles):
        """Emergency control as the gate boxes get it: an orange alert in force (and a
        yellow one that ended last week), the authority's blacklist, exemption flags.
        No randomness, so the demo traffic above stays the same."""
        utc = datetime.datetime.utcnow().replace(microsecond=0, second=0)
        stamp = fields.Datetime.to_string
        manager = self.env.ref('env_gate_ledger.user_manager_demo', raise_if_not_found=False)
        trucks = vehicles.sorted('id')
        old = [v for v in trucks if v.emission_stage in ('3', '4')]
        old[0].write({'hazardous_goods': True, 'fleet_name': '唐山危化品运输有限公司'})
        old[1].write({'special_purpose': True})
        Strategy = self.env['env.gate.strategy']
        Strategy.create({
            'name': '唐山市重污染天气黄色预警（上周）', 'level': 'yellow', 'state': 'active',
            'authority': '唐山市重污染天气应急指挥部办公室',
            'date_start': stamp(utc - datetime.timedelta(days=9)),
            'date_end': stamp(utc - datetime.timedelta(days=7)),
        }).write({'state': 'ended'})
        current = Strategy.create({
            'name': '唐山市重污染天气橙色预警', 'level': 'orange', 'state': 'active',
            'authority': '唐山市重污染天气应急指挥部办公室 唐气指办〔2026〕38号',
            'date_start': stamp(utc - datetime.timedelta(days=1)),
            'date_end': stamp(utc + datetime.timedelta(days=2)),
            'exempt_livelihood': True,
            'note': '日均货车运输超过10辆次的企业停止使用国四及以下重型柴油（含燃气）货车；'
                    '危化品运输车、专项作业车和民生保障车辆除外。',
        })
        if manager:
            current.write({'activated_by': manager.id})
        Blacklist = self.env['env.gate.blacklist']
        sources = [('唐山市生态环境局', '遥感监测超标排放'),
                   ('河北省生态环境厅 超标车辆名单', '路检路查黑烟车'),
                   ('唐山市公安局交通警察支队', '未按规定定期检验'),
                   ('唐山市生态环境局', 'OBD 远程监控数据异常'),
                   ('迁安市生态环境分局', '尾气处理装置拆除')]
        listed = old[2:6] + [v for v in trucks if v.emission_stage == '5'][:1]
        for number, (vehicle, (source, reason)) in enumerate(zip(listed, sources)):
            valid_from = utc - datetime.timedelta(days=20 - number)
            valid_to = None
            if number == 4:     # one that ran out: shown, not applied
                valid_from, valid_to = utc - datetime.timedelta(days=60), \
                    utc - datetime.timedelta(days=5)
            Blacklist.create({
                'plate': vehicle.plate, 'plate_color': vehicle.plate_color, 'source': source,
                'reason': reason, 'valid_from': stamp(valid_from),
                'valid_to': stamp(valid_to) if valid_to else False})

    def _make_logistics(self, rng, vehicles):
        """Suppliers with open purchase orders, products for the cargo kinds, and each
        truck hauling one cargo for one supplier. Returns {vehicle id: cargo}."""
        tonne = self.env.ref('product.product_uom_ton')
        suppliers = [('IO', '唐山首钢矿业有限公司'), ('CO', '开滦能源化工股份有限公司'),
                     ('CK', '唐山旭阳焦化有限公司'), ('LS', '迁安市石灰石矿业有限公司'),
                     ('SC', '唐山再生资源回收有限公司')]
        loads = {}
        for code, name in suppliers:
            cargo = self.env['env.gate.cargo'].search([('code', '=', code)], limit=1)
            product = self.env['product.product'].create({
                'name': cargo.name, 'type': 'product', 'uom_id': tonne.id, 'uom_po_id': tonne.id,
                'default_code': 'RM-%s' % code})
            cargo.product_id = product
            partner = self.env['res.partner'].create({'name': name, 'supplier': True,
                                                      'is_company': True, 'city': '唐山市'})
            order = self.env['purchase.order'].create({
                'partner_id': partner.id,
                'order_line': [(0, 0, {
                    'product_id': product.id, 'name': cargo.name, 'product_qty': 60000,
                    'product_uom': tonne.id, 'price_unit': rng.choice([680, 820, 1950, 95, 2650]),
                    'date_planned': fields.Datetime.now()})],
            })
            order.button_confirm()
            haulers = [v for v in vehicles if v.id not in loads][:12]
            for vehicle in haulers:
                vehicle.write({'partner_id': partner.id,
                               'rated_load': 49.0 if vehicle.vehicle_type == 'Q11' else 31.0,
                               'tare_min': 13.5, 'tare_max': 18.5})
                loads[vehicle.id] = cargo
            self.env['env.gate.appointment'].create({
                'purchase_id': order.id, 'plate': haulers[0].plate, 'cargo_id': cargo.id})
        return loads

    def _make_weighings(self, rng, loads):
        """Gross on entry, tare before exit, through the same path as the weighbridge."""
        Weighing = self.env['env.gate.weighing'].with_context(
            env_gate_defer_picking=True, tracking_disable=True)
        entries = self.env['env.gate.passage'].search(
            [('direction', '=', '1'), ('source', '=', 'device'), ('decision', '=', '1'),
             ('vehicle_id', 'in', list(loads))], order='pass_time')
        for entry in entries:
            entry.write({'cargo_id': loads[entry.vehicle_id.id].id,
                         'quantity': 0.0})
            when = fields.Datetime.from_string(entry.pass_time) + datetime.timedelta(minutes=4)
            tare = round(rng.uniform(14.0, 17.5), 2)
            gross = round(tare + rng.uniform(24.0, 31.0), 2)
            Weighing._record_weight(entry.lane_id, entry.plate_key, gross, when)
            if entry.exit_id:
                leave = fields.Datetime.from_string(entry.exit_id.pass_time) - \
                    datetime.timedelta(minutes=4)
                ticket = Weighing._record_weight(entry.lane_id, entry.plate_key, tare, leave)
                if ticket:
                    entry.write({'quantity': ticket.net})
        Weighing.with_context(env_gate_defer_picking=False).search(
            [('picking_id', '!=', False)])._update_picking()

    def _make_rail(self, rng):
        """Iron ore also arrives by rail: daily track-scale statements."""
        ore = self.env['env.gate.cargo'].search([('code', '=', 'IO')], limit=1)
        today = datetime.date.today()
        for day in range(DAYS):
            self.env['env.gate.transport.volume'].create({
                'date': fields.Date.to_string(today - datetime.timedelta(days=day)),
                'mode': 'rail', 'cargo_id': ore.id, 'direction': 'in',
                'tonnage': round(rng.uniform(2600, 3400), 1),
                'reference': '迁安北站轨道衡 %s' % (today - datetime.timedelta(days=day)).strftime('%Y%m%d'),
                'source': 'import'})

    def _make_vehicles(self, rng):
        Vehicle = self.env['env.gate.vehicle']
        weights = [w for _s, _f, w in STAGE_MIX]
        result = Vehicle
        for n in range(72):
            stage, fuel, _w = rng.choices(STAGE_MIX, weights)[0]
            electric = stage == 'D'
            plate, color = _plate(rng, electric)
            while Vehicle.search_count([('plate', '=', plate)]):
                plate, color = _plate(rng, electric)
            light = color == '4'
            year = rng.randint(*YEARS[stage])
            reg = datetime.date(year, rng.randint(1, 12), rng.randint(1, 28))
            result |= Vehicle.create({
                'category': 'transport',
                'plate': plate,
                'plate_color': color,
                'vin': _vin(rng, year),
                'vehicle_type': 'H31' if light else rng.choice(['Q11', 'Q11', 'H17', 'H11']),
                'registration_date': fields.Date.to_string(reg),
                'brand_model': rng.choice(['解放 J6P', '东风 天龙 KL', '重汽 豪沃 TX', '陕汽 德龙 X3000',
                                           '三一 江山 EV', '徐工 漢风 G7E']),
                'engine_model': rng.choice(['WP12.460E62', 'CA6DM3-46E6', 'MC11.44-60', 'TZ366XS']),
                'engine_maker': rng.choice(['潍柴动力', '一汽解放', '中国重汽', '精进电动']),
                'engine_no': '%08d' % rng.randint(0, 99999999),
                'fuel_type': fuel,
                'emission_stage': stage,
                'use_nature': 'F',
                'networked': '1' if stage in ('6', 'D') else '0',
                'fleet_name': rng.choice(FLEETS),
            })
        return result

    def _make_in_plant(self, rng):
        Vehicle = self.env['env.gate.vehicle']
        for n in range(1, 11):
            stage, fuel = rng.choice([('6', 'B'), ('5', 'B'), ('D', 'C'), ('4', 'B')])
            year = rng.randint(*YEARS[stage])
            Vehicle.create({
                'category': 'in_plant',
                'internal_code': 'JD-CN-%03d' % n,
                'vin': _vin(rng, year),
                'production_date': fields.Date.to_string(datetime.date(year, 3, 1)),
                'brand_model': rng.choice(['厂内倒运车 ZZ3257', '渣罐运输车 TLZ-40', '铁水运输车 GT-120']),
                'engine_model': 'WP10H' if fuel == 'B' else 'TZ220',
                'engine_maker': '潍柴动力' if fuel == 'B' else '精进电动',
                'fuel_type': fuel,
                'emission_stage': stage,
                'owner': '冀东钢铁 运输部',
            })

    def _make_machinery(self, rng):
        Machinery = self.env['env.gate.machinery']
        kinds = ['1', '1', '1', '2', '2', '4', '4', '3', '6', '1', '4', '2']
        for n, kind in enumerate(kinds, 1):
            stage, fuel = rng.choice([('3', 'B'), ('4', 'B'), ('4', 'B'), ('2', 'B'), ('D', 'C')])
            Machinery.create({
                'registration_code': '130203%08d' % rng.randint(0, 99999999),
                'kind': kind,
                'production_date': fields.Date.to_string(
                    datetime.date(rng.randint(2014, 2024), rng.randint(1, 12), 1)),
                'emission_stage': stage,
                'fuel_type': fuel,
                'pin': 'PIN%010d' % rng.randint(0, 9999999999),
                'env_code': 'EC%012d' % rng.randint(0, 999999999999),
                'machine_model': {'1': '柳工 ZL50CN', '2': '三一 SY215C', '3': '山推 SD16',
                                  '4': '合力 CPCD50', '6': '徐工 XCMG 清扫车'}[kind],
                'engine_model': 'WD10G220E', 'engine_maker': '潍柴动力',
                'engine_no': '%08d' % rng.randint(0, 99999999),
                'owner': '冀东钢铁 原料厂',
            })

    def _make_traffic(self, rng, vehicles):
        """30 days of entries and exits, with the anomalies a real gate produces."""
        lanes = {code: self.env.ref('env_gate_ledger.lane_%s_demo' % code)
                 for code in ('e_in', 'e_out', 'n_in', 'n_out')}
        Event = self.env['env.gate.event']
        now = datetime.datetime.now(CST).replace(microsecond=0)
        today = now.replace(hour=0, minute=0, second=0)
        counter = [0]
        decided = {}

        def event(lane_key, when, plate, color, confidence=97.0, decision='pass', reason=None,
                  pictures=None):
            counter[0] += 1
            lane = lanes[lane_key]
            data = {'event_id': 'demo-%06d' % counter[0], 'type': 'plate', 'lane': lane.code,
                    'time': when.isoformat(), 'plate': plate, 'plate_color': color,
                    'confidence': confidence, 'decision': decision}
            if reason:
                data['reason'] = reason
            if pictures:
                data['pictures'] = pictures
            decided.setdefault(lane_key, []).append(data)

        for day in range(DAYS, -1, -1):
            base = today - datetime.timedelta(days=day)
            for vehicle in rng.sample(list(vehicles), rng.randint(40, 60)):
                gate = rng.choice(['e', 'n'])
                enter = base + datetime.timedelta(minutes=rng.randint(6 * 60, 20 * 60))
                if enter > now:
                    continue
                leave = enter + datetime.timedelta(minutes=rng.randint(40, 300))
                pictures = None
                if day <= 1:
                    pictures = {'front': base64.b64encode(_picture(
                        vehicle.plate[2:], (90, 110, 140))).decode()}
                if vehicle.emission_stage == '3' and day % 3 == 0:
                    event(gate + '_in', enter, vehicle.plate, vehicle.plate_color, 96.0, 'refuse',
                          '国三柴油货车，重污染天气橙色预警期间禁止通行', pictures)
                    continue
                confidence = 72.0 if rng.random() < 0.03 else round(rng.uniform(90, 99.5), 1)
                event(gate + '_in', enter, vehicle.plate, vehicle.plate_color, confidence,
                      pictures=pictures)
                if rng.random() < 0.05:  # the camera fires twice as the truck stops
                    event(gate + '_in', enter + datetime.timedelta(seconds=12), vehicle.plate,
                          vehicle.plate_color, confidence)
                if leave <= now:
                    event(gate + '_out', leave, vehicle.plate, vehicle.plate_color,
                          round(rng.uniform(90, 99.5), 1))
            for n in range(2):  # visitors and suppliers not yet in the register
                plate = '冀B' + ''.join(rng.choice(ALNUM) for _ in range(5))
                when = base + datetime.timedelta(minutes=rng.randint(7 * 60, 18 * 60))
                if when <= now:
                    event('e_in', when, plate, '1', 93.0, 'manual', '未登记车辆，门卫核实后放行')
            if day % 6 == 2:  # an exit whose entry the camera missed
                vehicle = rng.choice(vehicles)
                when = base + datetime.timedelta(hours=17)
                event('n_out', when, vehicle.plate, vehicle.plate_color, 95.0)
        for lane_key, batch in decided.items():
            batch.sort(key=lambda e: e['time'])
            for start in range(0, len(batch), 200):
                Event._ingest(lanes[lane_key], batch[start:start + 200])
        self._manual_entries(lanes, now)

    def _manual_entries(self, lanes, now):
        clerk = self.env.ref('env_gate_ledger.user_clerk_demo', raise_if_not_found=False)
        Wizard = self.env['env.gate.manual.entry'].sudo(clerk.id if clerk else self.env.uid)
        when = (now - datetime.timedelta(days=3)).astimezone(datetime.timezone.utc)
        Wizard.create({
            'lane_id': lanes['n_in'].id, 'direction': '1',
            'pass_time': fields.Datetime.to_string(when.replace(tzinfo=None)),
            'plate': False, 'reason_kind': 'unreadable', 'decision': '3',
            'reason': '车牌污损无法识别，门卫登记后人工抬杆',
        }).action_record()
        Wizard.create({
            'lane_id': lanes['e_in'].id, 'direction': '1',
            'pass_time': fields.Datetime.to_string(
                (when - datetime.timedelta(days=5)).replace(tzinfo=None)),
            'plate': '冀B7Q2M8', 'plate_color': '1', 'reason_kind': 'outage', 'decision': '3',
            'reason': '停电2小时期间纸质台账补录',
        }).action_record()
